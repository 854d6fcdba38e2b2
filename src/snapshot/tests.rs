use super::*;

fn sample() -> Snapshot {
    let dev = StackRoleRef {
        stack_uid: "st1".into(),
        stack_name: "Developer stack".into(),
        role_uid: "developer".into(),
        role_name: "Developer".into(),
    };
    let mut s = Snapshot::new(
        OrgInfo {
            uid: "0a1b2c".into(),
            name: "Acme".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        },
        ScimSettings {
            enabled: true,
            sso_role_mapping: false,
            approval: Approval {
                provision: true,
                access_increase: true,
                deprovision: false,
            },
            user_name_is_email: true,
            tokens: vec![TokenLabel {
                id: "t1".into(),
                label: "okta".into(),
                created_at: "2026-01-01T00:00:00.000Z".into(),
                last_used_at: None,
            }],
        },
        "2026-02-01T00:00:00.000Z".into(),
    );
    s.stacks.push(Stack {
        uid: "st1".into(),
        name: "Developer stack".into(),
        roles: vec![StackRoleDef {
            uid: "developer".into(),
            name: "Developer".into(),
            builtin: true,
        }],
    });
    s.groups.push(Group {
        id: "g1".into(),
        display_name: "Developers".into(),
        members: vec!["u1".into()],
    });
    s.mappings.push(Mapping {
        group_id: "g1".into(),
        group_name: "Developers".into(),
        org_role: OrgRole::Member,
        stack_roles: vec![dev.clone()],
        updated_at: Some("2026-01-02T00:00:00.000Z".into()),
        updated_by: Some("owner@acme.example".into()),
    });
    let access = Access {
        org_role: OrgRole::Member,
        stack_roles: vec![dev.clone()],
    };
    s.members.push(Member {
        id: "u1".into(),
        email: "ann@acme.example".into(),
        display_name: Some("Ann".into()),
        state: MemberState::Pending,
        source: "scim".into(),
        groups: vec![GroupRef {
            id: "g1".into(),
            display_name: "Developers".into(),
        }],
        granted: None,
        requested: Some(access),
        created_at: "2026-01-03T00:00:00.000Z".into(),
        updated_at: "2026-01-03T00:00:00.000Z".into(),
    });
    s.requests.push(ApprovalRequest {
        id: "r1".into(),
        member_id: "u1".into(),
        member: MemberBrief {
            email: "ann@acme.example".into(),
            display_name: Some("Ann".into()),
        },
        kind: RequestKind::Provision,
        state: RequestState::Pending,
        version: 1,
        diff: Diff {
            org_role_from: None,
            org_role_to: Some(OrgRole::Member),
            stack_gains: vec![dev],
            stack_losses: vec![],
        },
        created_at: "2026-01-03T00:00:00.000Z".into(),
        updated_at: "2026-01-03T00:00:00.000Z".into(),
        decided_by: None,
        decided_at: None,
        reason: None,
    });
    s.audit.push(AuditEvent {
        id: "7".into(),
        at: "2026-01-03T00:00:00.000Z".into(),
        actor: "okta".into(),
        action: "scim.user.create".into(),
        target: Some("u1".into()),
        before: None,
        after: Some(serde_json::json!({"userName": "ann@acme.example"})),
    });
    s
}

fn pretty(s: &Snapshot) -> Vec<u8> {
    serde_json::to_vec_pretty(s).unwrap()
}

#[test]
fn a_written_snapshot_reads_back_identical_compact_or_pretty() {
    let s = sample();
    assert_eq!(read(&to_bytes(&s)).unwrap(), s);
    assert_eq!(read(&pretty(&s)).unwrap(), s);
}

#[test]
fn the_wire_shape_names_format_version_and_api_values() {
    let v: Value = serde_json::from_slice(&to_bytes(&sample())).unwrap();
    assert_eq!(v["format"], "scimdesk-snapshot");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["server"]["name"], "scimdesk");
    assert_eq!(v["members"][0]["state"], "pending");
    assert_eq!(v["members"][0]["granted"], Value::Null);
    assert_eq!(v["requests"][0]["kind"], "provision");
    assert_eq!(v["requests"][0]["diff"]["org_role_to"], "member");
    assert_eq!(v["scim"]["tokens"][0]["label"], "okta");
    assert!(v["scim"]["tokens"][0].get("token").is_none());
}

#[test]
fn a_truncated_file_is_named_truncated_with_its_end_position() {
    let bytes = pretty(&sample());
    let cut = &bytes[..bytes.len() / 2];
    let lines = cut.iter().filter(|&&b| b == b'\n').count() + 1;
    match read(cut) {
        Err(SnapshotError::Truncated { line, column }) => {
            assert_eq!(line, lines);
            assert!(column >= 1);
        }
        other => panic!("{other:?}"),
    }
    let msg = read(cut).unwrap_err().to_string();
    assert!(
        msg.contains("truncated") && msg.contains(&format!("line {lines}")),
        "{msg}"
    );
    assert!(matches!(
        read(b""),
        Err(SnapshotError::Truncated { line: 1, column: 1 })
    ));
}

#[test]
fn a_corrupt_file_names_the_line_and_column_of_the_damage() {
    let text = String::from_utf8(pretty(&sample())).unwrap();
    // Damage line 5 (1-based) at its first non-blank character.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let col = lines[4].find(|c: char| c != ' ').unwrap();
    lines[4].replace_range(col..col + 1, "#");
    let damaged = lines.join("\n");
    match read(damaged.as_bytes()) {
        Err(SnapshotError::Corrupt { line, column, .. }) => {
            assert_eq!((line, column), (5, col + 1));
        }
        other => panic!("{other:?}"),
    }
    let msg = read(damaged.as_bytes()).unwrap_err().to_string();
    assert!(msg.contains("line 5") && msg.contains("corrupt"), "{msg}");
    assert!(matches!(
        read(&[0xff, 0xfe, b'{']),
        Err(SnapshotError::Corrupt { line: 1, .. })
    ));
}

#[test]
fn a_newer_format_version_is_refused_naming_both_versions() {
    let mut v: Value = serde_json::from_slice(&to_bytes(&sample())).unwrap();
    v["format_version"] = 7.into();
    // A newer format may change anything else too; the version alone decides.
    v["members"] = "a new shape".into();
    let err = read(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert_eq!(
        err,
        SnapshotError::TooNew {
            found: 7,
            supported: 1
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("format_version 7") && msg.contains("format_version 1"),
        "{msg}"
    );
}

#[test]
fn other_json_is_not_a_snapshot() {
    for doc in [
        r#"{"hello": "world"}"#,
        r#"{"format": "something-else", "format_version": 1}"#,
        r#"{"format": 1}"#,
        r#"[1, 2, 3]"#,
        r#""scimdesk-snapshot""#,
        "42",
        "null",
        r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Resources": []}"#,
    ] {
        let err = read(doc.as_bytes()).unwrap_err();
        assert_eq!(err, SnapshotError::NotASnapshot, "{doc}");
        assert!(err.to_string().starts_with("not a scimdesk snapshot"));
    }
}

#[test]
fn a_snapshot_that_does_not_fit_the_format_names_the_place() {
    let text = String::from_utf8(pretty(&sample())).unwrap();
    let damaged = text.replacen("\"state\": \"pending\"", "\"state\": \"sleeping\"", 1);
    let line = damaged
        .lines()
        .position(|l| l.contains("sleeping"))
        .unwrap()
        + 1;
    match read(damaged.as_bytes()) {
        Err(SnapshotError::Invalid {
            line: l, message, ..
        }) => {
            assert_eq!(l, line);
            assert!(message.contains("sleeping"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    for version in ["0", "\"1\"", "1.5", "-1"] {
        let doc = format!(r#"{{"format": "scimdesk-snapshot", "format_version": {version}}}"#);
        let err = read(doc.as_bytes()).unwrap_err();
        assert!(
            matches!(err, SnapshotError::Invalid { .. }),
            "{version}: {err:?}"
        );
        assert!(err.to_string().contains("format_version"), "{err}");
    }
    let missing = r#"{"format": "scimdesk-snapshot", "format_version": 1}"#;
    assert!(matches!(
        read(missing.as_bytes()),
        Err(SnapshotError::Invalid { .. })
    ));
}

#[test]
fn fields_added_within_a_version_are_ignored_and_lists_may_be_absent() {
    let mut v: Value = serde_json::from_slice(&to_bytes(&sample())).unwrap();
    v["a_later_field"] = serde_json::json!({"x": 1});
    v["members"][0]["nickname"] = "annie".into();
    let obj = v.as_object_mut().unwrap();
    for key in ["stacks", "mappings", "requests", "audit", "admin_tokens"] {
        obj.remove(key);
    }
    let s = read(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(s.members, sample().members);
    assert!(s.stacks.is_empty() && s.audit.is_empty());
}
