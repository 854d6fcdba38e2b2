//! Schemas as data (RFC 7643 §2, §4, §7). Every rule that depends on an attribute's
//! characteristics (type, mutability, returned, caseExact...) reads it from here, and the
//! `/Schemas` document is generated from the same tables.

/// Attribute data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
    /// Types whose values are JSON strings and so compare as text.
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, Copy)]
pub struct AttributeDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [AttributeDef],
}

impl AttributeDef {
    /// A single-valued, optional, readWrite, caseExact=false string returned by default.
    pub const fn string(name: &'static str, description: &'static str) -> Self {
        AttributeDef {
            name,
            ty: AttrType::String,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        }
    }
    pub const fn of_type(mut self, ty: AttrType) -> Self {
        self.ty = ty;
        self
    }
    pub const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    pub const fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    pub const fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    pub const fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    pub const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }
    pub const fn references(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }
    pub const fn complex(mut self, subs: &'static [AttributeDef]) -> Self {
        self.ty = AttrType::Complex;
        self.sub_attributes = subs;
        self
    }

    /// Sub-attribute by name, in any case (attribute names are case-insensitive, RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&'static AttributeDef> {
        find_attr(self.sub_attributes, name)
    }
}

pub(crate) fn find_attr(
    attrs: &'static [AttributeDef],
    name: &str,
) -> Option<&'static AttributeDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A schema (RFC 7643 §7): its URN and its attributes.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

impl SchemaDef {
    pub fn attr(&self, name: &str) -> Option<&'static AttributeDef> {
        find_attr(self.attributes, name)
    }
}

/// A resource type (RFC 7643 §6): its core schema and extensions.
#[derive(Debug)]
pub struct ResourceTypeDef {
    pub id: &'static str,
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: &'static SchemaDef,
    /// (extension schema, required)
    pub extensions: &'static [(&'static SchemaDef, bool)],
}

impl ResourceTypeDef {
    /// Every schema URN a resource of this type may carry, core first.
    pub fn schema_ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.schema.id).chain(self.extensions.iter().map(|(s, _)| s.id))
    }
    /// The extension schema with this URN, in any case.
    pub fn extension(&self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions
            .iter()
            .map(|(s, _)| *s)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }
    /// A top-level attribute of the core schema or the common attributes (id, externalId, meta).
    pub fn core_attr(&self, name: &str) -> Option<&'static AttributeDef> {
        find_attr(COMMON_ATTRIBUTES, name).or_else(|| self.schema.attr(name))
    }
    /// Resolve a top-level attribute, optionally qualified by a schema URN.
    /// Returns the attribute and, when it lives in an extension, that extension's schema.
    pub fn resolve(
        &self,
        urn: Option<&str>,
        name: &str,
    ) -> Option<(&'static AttributeDef, Option<&'static SchemaDef>)> {
        match urn {
            None => self.core_attr(name).map(|a| (a, None)),
            Some(u) if u.eq_ignore_ascii_case(self.schema.id) => {
                self.core_attr(name).map(|a| (a, None))
            }
            Some(u) => {
                let ext = self.extension(u)?;
                ext.attr(name).map(|a| (a, Some(ext)))
            }
        }
    }
}

use AttrType as T;
use Mutability as M;
use Returned as R;

const fn s(name: &'static str, description: &'static str) -> AttributeDef {
    AttributeDef::string(name, description)
}

pub const USER_SCHEMA_ID: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA_ID: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA_ID: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// scimdesk's readOnly view of a User's provisioning: the membership state and whether an
/// approval request is open. Listed in /Schemas and returned on request (`attributes=` naming
/// it), never stored and ignored on input. It is not a schemaExtension of the User resource
/// type: generic clients (scim2-tester) PATCH every declared extension as a whole and expect
/// back what they sent, which a server-owned extension cannot satisfy.
pub const PROVISIONING_USER_SCHEMA_ID: &str =
    "urn:scimdesk:params:scim:schemas:extension:provisioning:2.0:User";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SP_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Attributes every resource has (RFC 7643 §3.1). `schemas` is handled structurally.
pub static COMMON_ATTRIBUTES: &[AttributeDef] = &[
    s(
        "id",
        "Unique identifier for the resource, assigned by the service provider.",
    )
    .case_exact()
    .mutability(M::ReadOnly)
    .returned(R::Always)
    .uniqueness(Uniqueness::Server),
    s(
        "externalId",
        "Identifier of the resource as defined by the provisioning client.",
    )
    .case_exact(),
    s("meta", "Resource metadata.")
        .mutability(M::ReadOnly)
        .complex(&[
            s("resourceType", "The name of the resource type.")
                .case_exact()
                .mutability(M::ReadOnly),
            s("created", "When the resource was added.")
                .of_type(T::DateTime)
                .mutability(M::ReadOnly),
            s("lastModified", "When the resource was last updated.")
                .of_type(T::DateTime)
                .mutability(M::ReadOnly),
            s("location", "The URI of the resource.")
                .of_type(T::Reference)
                .case_exact()
                .mutability(M::ReadOnly)
                .references(&["uri"]),
            s("version", "The version (ETag) of the resource.")
                .case_exact()
                .mutability(M::ReadOnly),
        ]),
];

const TYPE_VALUE_SUBS: &[AttributeDef] = &[
    s("value", "The value."),
    s(
        "display",
        "A human-readable name, primarily used for display purposes.",
    ),
    s("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]),
    s("primary", "Whether this is the primary value.").of_type(T::Boolean),
];

pub static USER_SCHEMA: SchemaDef = SchemaDef {
    id: USER_SCHEMA_ID,
    name: "User",
    description: "User Account",
    attributes: &[
        s(
            "userName",
            "Unique identifier for the User; here, the user's email address.",
        )
        .required()
        .uniqueness(Uniqueness::Server),
        s("name", "The components of the user's real name.").complex(&[
            s("formatted", "The full name, formatted for display."),
            s("familyName", "The family name."),
            s("givenName", "The given name."),
            s("middleName", "The middle name(s)."),
            s("honorificPrefix", "The honorific prefix(es)."),
            s("honorificSuffix", "The honorific suffix(es)."),
        ]),
        s(
            "displayName",
            "The name of the User, suitable for display to end-users.",
        ),
        s("nickName", "The casual way to address the user."),
        s(
            "profileUrl",
            "A fully qualified URL pointing to the user's online profile.",
        )
        .of_type(T::Reference)
        .references(&["external"]),
        s("title", "The user's title, such as \"Vice President\"."),
        s(
            "userType",
            "The relationship between the organization and the user.",
        ),
        s(
            "preferredLanguage",
            "The user's preferred written or spoken language.",
        ),
        s("locale", "The user's default location."),
        s("timezone", "The user's time zone in the Olson format."),
        s("active", "The user's administrative status.").of_type(T::Boolean),
        s("password", "The user's cleartext password, write-only.")
            .mutability(M::WriteOnly)
            .returned(R::Never),
        s("emails", "Email addresses for the user.")
            .multi()
            .complex(&[
                s("value", "Email address for the user."),
                s(
                    "display",
                    "A human-readable name, primarily used for display purposes.",
                ),
                s("type", "A label indicating the attribute's function.")
                    .canonical(&["work", "home", "other"]),
                s("primary", "Whether this is the primary email address.").of_type(T::Boolean),
            ]),
        s("phoneNumbers", "Phone numbers for the user.")
            .multi()
            .complex(&[
                s("value", "Phone number of the user."),
                s(
                    "display",
                    "A human-readable name, primarily used for display purposes.",
                ),
                s("type", "A label indicating the attribute's function.")
                    .canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
                s("primary", "Whether this is the primary phone number.").of_type(T::Boolean),
            ]),
        s("ims", "Instant messaging addresses for the user.")
            .multi()
            .complex(TYPE_VALUE_SUBS),
        s("photos", "URLs of photos of the user.")
            .multi()
            .complex(&[
                s("value", "URL of a photo of the user.")
                    .of_type(T::Reference)
                    .references(&["external"]),
                s(
                    "display",
                    "A human-readable name, primarily used for display purposes.",
                ),
                s("type", "A label indicating the attribute's function.")
                    .canonical(&["photo", "thumbnail"]),
                s("primary", "Whether this is the primary photo.").of_type(T::Boolean),
            ]),
        s("addresses", "A physical mailing address for this user.")
            .multi()
            .complex(&[
                s(
                    "formatted",
                    "The full mailing address, formatted for display.",
                ),
                s("streetAddress", "The full street address component."),
                s("locality", "The city or locality component."),
                s("region", "The state or region component."),
                s("postalCode", "The zip code or postal code component."),
                s("country", "The country name component."),
                s("type", "A label indicating the attribute's function.")
                    .canonical(&["work", "home", "other"]),
                s("primary", "Whether this is the primary address.").of_type(T::Boolean),
            ]),
        s("groups", "A list of groups to which the user belongs.")
            .multi()
            .mutability(M::ReadOnly)
            .complex(&[
                s("value", "The identifier of the User's group.").mutability(M::ReadOnly),
                s("$ref", "The URI of the corresponding Group resource.")
                    .of_type(T::Reference)
                    .mutability(M::ReadOnly)
                    .references(&["User", "Group"]),
                s(
                    "display",
                    "A human-readable name, primarily used for display purposes.",
                )
                .mutability(M::ReadOnly),
                s("type", "A label indicating the attribute's function.")
                    .mutability(M::ReadOnly)
                    .canonical(&["direct", "indirect"]),
            ]),
        s("entitlements", "A list of entitlements for the user.")
            .multi()
            .complex(TYPE_VALUE_SUBS),
        s("roles", "A list of roles for the user.")
            .multi()
            .complex(TYPE_VALUE_SUBS),
        s(
            "x509Certificates",
            "A list of certificates issued to the user.",
        )
        .multi()
        .complex(&[
            s("value", "The value of an X.509 certificate.").of_type(T::Binary),
            s(
                "display",
                "A human-readable name, primarily used for display purposes.",
            ),
            s("type", "A label indicating the attribute's function."),
            s("primary", "Whether this is the primary certificate.").of_type(T::Boolean),
        ]),
    ],
};

pub static ENTERPRISE_USER_SCHEMA: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA_ID,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        s(
            "employeeNumber",
            "Numeric or alphanumeric identifier assigned to a person.",
        ),
        s("costCenter", "Identifies the name of a cost center."),
        s("organization", "Identifies the name of an organization."),
        s("division", "Identifies the name of a division."),
        s("department", "Identifies the name of a department."),
        s("manager", "The User's manager.").complex(&[
            s(
                "value",
                "The id of the SCIM resource representing the User's manager.",
            ),
            s(
                "$ref",
                "The URI of the SCIM resource representing the User's manager.",
            )
            .of_type(T::Reference)
            .references(&["User"]),
            s("displayName", "The displayName of the User's manager.").mutability(M::ReadOnly),
        ]),
    ],
};

pub static PROVISIONING_USER_SCHEMA: SchemaDef = SchemaDef {
    id: PROVISIONING_USER_SCHEMA_ID,
    name: "ProvisioningState",
    description: "Where the membership behind this User stands in scimdesk's approval workflow",
    attributes: &[
        s(
            "state",
            "The membership state: access is in force only when active.",
        )
        .mutability(M::ReadOnly)
        .returned(R::Request)
        .case_exact()
        .canonical(&["pending", "active", "rejected", "deprovisioned", "removed"]),
        s(
            "pendingRequest",
            "Whether an approval request for this member is waiting for an admin.",
        )
        .of_type(T::Boolean)
        .mutability(M::ReadOnly)
        .returned(R::Request),
    ],
};

pub static GROUP_SCHEMA: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA_ID,
    name: "Group",
    description: "Group",
    attributes: &[
        s("displayName", "A human-readable name for the Group.").required(),
        s("members", "A list of members of the Group.")
            .multi()
            .complex(&[
                s("value", "Identifier of the member of this Group.")
                    .case_exact()
                    .mutability(M::Immutable),
                s(
                    "$ref",
                    "The URI corresponding to a SCIM resource that is a member of this Group.",
                )
                .of_type(T::Reference)
                .mutability(M::Immutable)
                .references(&["User", "Group"]),
                s("display", "A human-readable name for the member.").mutability(M::ReadOnly),
                s("type", "A label indicating the type of resource.")
                    .mutability(M::Immutable)
                    .canonical(&["User", "Group"]),
            ]),
    ],
};

pub static USER: ResourceTypeDef = ResourceTypeDef {
    id: "User",
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    schema: &USER_SCHEMA,
    extensions: &[(&ENTERPRISE_USER_SCHEMA, false)],
};

pub static GROUP: ResourceTypeDef = ResourceTypeDef {
    id: "Group",
    name: "Group",
    endpoint: "/Groups",
    description: "Group",
    schema: &GROUP_SCHEMA,
    extensions: &[],
};

/// Every resource type this service provider serves.
pub static RESOURCE_TYPES: &[&ResourceTypeDef] = &[&USER, &GROUP];

/// Every schema this service provider knows, for `/Schemas`.
pub static SCHEMAS: &[&SchemaDef] = &[
    &USER_SCHEMA,
    &ENTERPRISE_USER_SCHEMA,
    &PROVISIONING_USER_SCHEMA,
    &GROUP_SCHEMA,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_attributes_in_any_case() {
        let (a, ext) = USER.resolve(None, "USERNAME").unwrap();
        assert_eq!(a.name, "userName");
        assert!(ext.is_none());
        assert!(!a.case_exact);
        assert_eq!(
            USER.core_attr("ID").unwrap().mutability,
            Mutability::ReadOnly
        );
    }

    #[test]
    fn resolves_urn_qualified_attributes() {
        let (a, ext) = USER
            .resolve(
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"),
                "employeenumber",
            )
            .unwrap();
        assert_eq!(a.name, "employeeNumber");
        assert_eq!(ext.unwrap().id, ENTERPRISE_USER_SCHEMA_ID);
        let (a, ext) = USER.resolve(Some(USER_SCHEMA_ID), "emails").unwrap();
        assert_eq!(a.name, "emails");
        assert!(ext.is_none());
        assert!(
            USER.resolve(Some(ENTERPRISE_USER_SCHEMA_ID), "userName")
                .is_none()
        );
    }

    #[test]
    fn member_value_is_case_exact_and_password_is_never_returned() {
        let members = GROUP.core_attr("members").unwrap();
        assert!(members.sub("VALUE").unwrap().case_exact);
        assert_eq!(
            USER.core_attr("password").unwrap().returned,
            Returned::Never
        );
    }
}
