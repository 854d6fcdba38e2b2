//! The Group Mapping pane's list, paging and comparison marks; the editor's tests are in
//! `editor.rs`.

mod editor;

use super::*;
use crate::console::changes::Changes;

use crate::client::{Applied, Page, PreviewCounts, RoleCount, SavedMapping, StackRoleInfo};

use crate::console::keymap::Keymap;

use crate::console::widgets::test_util::{ch, key, screen};

use ratatui::crossterm::event::{KeyEvent, KeyModifiers};

pub(super) fn sref(stack: &str, role: &str) -> StackRoleRef {
    let (stack_name, role_name) = (stack_name(stack), role_name(role));
    StackRoleRef {
        stack_uid: stack.into(),
        stack_name,
        role_uid: role.into(),
        role_name,
    }
}

pub(super) fn stack_name(uid: &str) -> String {
    match uid {
        "web" => "Marketing Site",
        "dev" => "Developer stack",
        _ => "Mobile App",
    }
    .into()
}

pub(super) fn role_name(uid: &str) -> String {
    match uid {
        "admin" => "Admin",
        "developer" => "Developer",
        "content_manager" => "Content Manager",
        _ => "Release Manager",
    }
    .into()
}

pub(super) fn mapping(id: &str, name: &str, role: OrgRole, roles: &[(&str, &str)]) -> Mapping {
    Mapping {
        group_id: id.into(),
        group_name: name.into(),
        org_role: role,
        stack_roles: roles.iter().map(|(s, r)| sref(s, r)).collect(),
        updated_at: Some("2026-11-23T10:00:00Z".into()),
        updated_by: Some("owner@acme.example".into()),
    }
}

pub(super) fn groups() -> Vec<Group> {
    vec![
        Group {
            id: "g-adm".into(),
            display_name: "Admins".into(),
            member_count: 4,
            mapping: Some(mapping(
                "g-adm",
                "Admins",
                OrgRole::Admin,
                &[("web", "admin"), ("dev", "admin"), ("app", "admin")],
            )),
        },
        Group {
            id: "g-con".into(),
            display_name: "Contractors".into(),
            member_count: 6,
            mapping: None,
        },
        Group {
            id: "g-dev".into(),
            display_name: "Developers".into(),
            member_count: 24,
            mapping: Some(mapping(
                "g-dev",
                "Developers",
                OrgRole::Member,
                &[("dev", "developer"), ("app", "developer")],
            )),
        },
    ]
}

pub(super) fn stacks() -> Vec<Stack> {
    let role = |uid: &str, builtin: bool| StackRoleInfo {
        uid: uid.into(),
        name: role_name(uid),
        builtin,
    };
    ["web", "dev", "app"]
        .iter()
        .map(|s| Stack {
            uid: s.to_string(),
            name: stack_name(s),
            roles: vec![
                role("admin", true),
                role("developer", true),
                role("content_manager", true),
                role("rm", false),
            ],
        })
        .collect()
}

pub(super) fn page<T>(items: Vec<T>) -> Page<T> {
    Page {
        total: items.len() as u64,
        items,
        next: None,
    }
}

pub(crate) fn pane() -> MappingPane {
    MappingPane {
        groups: Paged::of(groups()),
        stacks: Some(stacks()),
        org_roles: Some(
            [OrgRole::Owner, OrgRole::Admin, OrgRole::Member]
                .into_iter()
                .map(|r| OrgRoleInfo {
                    uid: r.as_str().into(),
                    name: r.to_string(),
                    mappable: r.mappable(),
                })
                .collect(),
        ),
        ..Default::default()
    }
}

pub(super) fn cx() -> Ctx {
    Ctx::default()
}

pub(super) fn act(p: &mut MappingPane, a: Action) -> Vec<Cmd> {
    p.update(PaneMsg::Action(a), &cx())
}

/// `k` as the default key table hands it to the pane.
pub(super) fn press(p: &mut MappingPane, k: KeyEvent) -> Vec<Cmd> {
    let m = crate::console::panes::test_key(p, k);
    p.update(m, &cx())
}

pub(super) fn typed(p: &mut MappingPane, s: &str) {
    for c in s.chars() {
        press(p, ch(c));
    }
}

pub(super) fn calls(cmds: &[Cmd]) -> Vec<(&'static str, Call)> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Call { slot, call, .. } => Some((*slot, call.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn toasts(cmds: &[Cmd]) -> Vec<String> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Toast(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn reply(p: &mut MappingPane, slot: &'static str, call: Call, r: Reply) -> Vec<Cmd> {
    p.update(
        PaneMsg::Reply {
            slot,
            call,
            result: Ok(r),
        },
        &cx(),
    )
}

pub(super) fn key_of(k: &'static str, r: &'static str) -> StackRoleKey {
    StackRoleKey {
        stack_uid: k.into(),
        role_uid: r.into(),
    }
}

pub(super) fn preview(roles: Vec<RoleCount>, members: u64, granted: u64, pending: u64) -> Preview {
    Preview {
        granted_changes: vec![],
        pending_changes: vec![],
        counts: PreviewCounts {
            members,
            granted_changes: granted,
            pending_changes: pending,
            roles,
        },
    }
}

/// Opens the editor on Developers (third row).
pub(super) fn editing_developers() -> MappingPane {
    let mut p = pane();
    act(&mut p, Action::Bottom);
    act(&mut p, Action::Open);
    p
}

#[test]
fn activation_loads_groups_stacks_and_roles_and_the_filter_goes_to_the_server() {
    let mut p = MappingPane::default();
    let c = calls(&p.update(PaneMsg::Activated, &cx()));
    assert_eq!(
        c,
        vec![
            (
                "groups",
                Call::Groups {
                    filter: None,
                    page: PageReq::first(200)
                }
            ),
            ("stacks", Call::Stacks(PageReq::first(200))),
            ("roles", Call::Roles),
        ]
    );
    let c = calls(&p.update(PaneMsg::Filter("dev".into()), &cx()));
    assert_eq!(
        c,
        vec![(
            "groups",
            Call::Groups {
                filter: Some("dev".into()),
                page: PageReq::first(200)
            }
        )]
    );
    reply(
        &mut p,
        "groups",
        c[0].1.clone(),
        Reply::Groups(page(groups())),
    );
    assert_eq!(p.groups.total, 3);
    // Loaded: coming back to the pane asks for nothing.
    assert!(p.update(PaneMsg::Activated, &cx()).is_empty());
    assert_eq!(calls(&p.update(PaneMsg::Refresh, &cx())).len(), 3);
}

/// The list follows the server on each poll while nothing is edited: one load at a
/// time, the selection staying on its group, and a failed poll costs no toast.
#[test]
fn a_poll_reloads_the_list_and_keeps_the_selected_group() {
    let mut p = pane();
    let first = Call::Groups {
        filter: None,
        page: PageReq::first(PAGE as u32),
    };
    reply(
        &mut p,
        "groups",
        first.clone(),
        Reply::Groups(page(groups())),
    );
    act(&mut p, Action::Down);
    assert_eq!(p.selected_group().unwrap().id, "g-con");
    let c = calls(&p.update(PaneMsg::Poll, &cx()));
    assert_eq!(c, [("groups", first.clone())]);
    assert!(
        p.update(PaneMsg::Poll, &cx()).is_empty(),
        "one load at a time"
    );
    // A group the IdP pushed lands before the selected one: the selection follows.
    let mut pushed = groups();
    pushed.insert(
        0,
        Group {
            id: "g-aaa".into(),
            display_name: "Aardvarks".into(),
            member_count: 1,
            mapping: None,
        },
    );
    reply(&mut p, "groups", first.clone(), Reply::Groups(page(pushed)));
    assert_eq!(p.selected_group().unwrap().id, "g-con");
    assert_eq!(p.groups.selected(), 2);
    // A poll that fails says nothing; the next poll tries again.
    p.update(PaneMsg::Poll, &cx());
    let failed = p.update(
        PaneMsg::Reply {
            slot: "groups",
            call: first.clone(),
            result: Err(ApiError::Unreachable {
                url: "http://127.0.0.1:1".into(),
                detail: "connection refused".into(),
            }),
        },
        &cx(),
    );
    assert!(toasts(&failed).is_empty(), "{:?}", toasts(&failed));
    assert_eq!(calls(&p.update(PaneMsg::Poll, &cx())).len(), 1);
    // Nothing is reloaded under an open editor.
    reply(&mut p, "groups", first, Reply::Groups(page(groups())));
    act(&mut p, Action::NewMapping);
    assert!(calls(&p.update(PaneMsg::Poll, &cx())).is_empty());
}

#[test]
fn the_list_moves_within_bounds() {
    let mut p = pane();
    act(&mut p, Action::Up);
    assert_eq!(p.groups.selected(), 0);
    act(&mut p, Action::Down);
    act(&mut p, Action::Down);
    act(&mut p, Action::Down);
    assert_eq!(p.groups.selected(), 2);
    act(&mut p, Action::Top);
    assert_eq!(p.groups.selected(), 0);
    act(&mut p, Action::PageDown);
    assert_eq!(p.groups.selected(), 2);
    act(&mut p, Action::PageUp);
    assert_eq!(p.groups.selected(), 0);
}

#[test]
fn summaries_name_the_org_role_the_first_stack_role_and_how_many_more() {
    let gs = groups();
    assert_eq!(
        summary(gs[0].mapping.as_ref().unwrap()),
        "Admin · Admin on Developer stack +2"
    );
    assert_eq!(
        summary(gs[2].mapping.as_ref().unwrap()),
        "Member · Developer on Developer stack +1"
    );
    assert_eq!(
        summary(&mapping("g", "G", OrgRole::Member, &[])),
        "Member · no stack roles"
    );
}

#[test]
fn read_only_browses_and_never_edits() {
    let ro = Ctx {
        read_only: true,
        ..Default::default()
    };
    let mut p = pane();
    for a in [
        Action::Open,
        Action::EditMapping,
        Action::NewMapping,
        Action::DeleteMapping,
    ] {
        let cmds = p.update(PaneMsg::Action(a), &ro);
        assert!(calls(&cmds).is_empty(), "{a:?}");
        // Enter says why it opens nothing (issue 24, item 8).
        if a == Action::Open {
            assert!(toasts(&cmds)[0].starts_with("read-only"), "{cmds:?}");
        }
        assert!(p.editor.is_none() && p.popup.is_none(), "{a:?}");
    }
    p.update(PaneMsg::Action(Action::Down), &ro);
    assert_eq!(p.groups.selected(), 1);
    let km = Keymap::build(
        &crate::console::panes::bindings(),
        &Default::default(),
        true,
    )
    .unwrap();
    for c in ['n', 'e', 'x', 'w'] {
        assert_eq!(km.lookup(ID, &ch(c)), None, "{c} is bound read-only");
    }
    let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert_eq!(km.lookup(ID, &ctrl_s), None);
    let km = Keymap::build(
        &crate::console::panes::bindings(),
        &Default::default(),
        false,
    )
    .unwrap();
    assert_eq!(km.lookup(ID, &ctrl_s), Some(Action::Save));
    assert_eq!(km.lookup(ID, &ch('n')), Some(Action::NewMapping));
    assert_eq!(
        km.lookup(ID, &key(KeyCode::Delete)),
        Some(Action::DeleteMapping)
    );
}

/// Groups page like every list: 200 at a time, the next page asked for with the server's
/// cursor as the selection nears the end of what is loaded, never the whole list at once.
#[test]
fn the_list_pages_with_the_servers_cursors_and_a_new_filter_starts_over() {
    let mut p = MappingPane::default();
    let c = calls(&p.update(PaneMsg::Activated, &cx()));
    let many: Vec<Group> = (0..450)
        .map(|i| Group {
            id: format!("g{i:03}"),
            display_name: format!("Group {i:03}"),
            member_count: 1,
            mapping: None,
        })
        .collect();
    let first = Page {
        items: many[..200].to_vec(),
        total: 450,
        next: Some("c1".into()),
    };
    assert!(
        calls(&reply(
            &mut p,
            "groups",
            c[0].1.clone(),
            Reply::Groups(first)
        ))
        .is_empty()
    );
    assert_eq!(p.groups.rows.len(), 200);
    let s = screen(80, 21, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(s.contains("SCIM groups (450)"), "{s}");
    let mut asked = Vec::new();
    for _ in 0..170 {
        asked.extend(calls(&act(&mut p, Action::Down)));
    }
    assert_eq!(
        asked,
        vec![(
            "groups",
            Call::Groups {
                filter: None,
                page: PageReq {
                    limit: Some(200),
                    cursor: Some("c1".into())
                }
            }
        )]
    );
    let second = Page {
        items: many[200..400].to_vec(),
        total: 450,
        next: Some("c2".into()),
    };
    reply(&mut p, "groups", asked[0].1.clone(), Reply::Groups(second));
    assert_eq!(p.groups.rows.len(), 400);
    assert_eq!(p.selected_group().unwrap().id, "g170");
    // A filter asks for a first page again, in the same slot: the app cancels the rest.
    let c = calls(&p.update(PaneMsg::Filter("group 44".into()), &cx()));
    assert!(matches!(&c[..], [("groups", Call::Groups { page, .. })] if page.cursor.is_none()));
    reply(
        &mut p,
        "groups",
        c[0].1.clone(),
        Reply::Groups(page(many[440..450].to_vec())),
    );
    assert_eq!(p.groups.rows.len(), 10);
}

/// The fixture's groups in a review against an older snapshot: the Editors mapping was
/// raised to Admin (`~`), Engineering's lost its stack role and became Admin (two
/// changes), Platform admins' mapping was removed (`-`), Contractors never had one.
pub(super) fn compared() -> (MappingPane, Ctx, Changes) {
    let (old, mut new) = crate::console::changes::tests::pair();
    let eng = new
        .mappings
        .iter_mut()
        .find(|m| m.group_id == "g-engineering")
        .unwrap();
    eng.stack_roles.clear();
    eng.org_role = OrgRole::Admin;
    new.mappings.retain(|m| m.group_id != "g-platform");
    let cx = Ctx {
        read_only: true,
        ..Default::default()
    };
    let changes = Changes::new(&old, &new, "q1.json");
    let group = |id: &str, name: &str, n: u64, m: Option<Mapping>| Group {
        id: id.into(),
        display_name: name.into(),
        member_count: n,
        mapping: m,
    };
    let mut p = pane();
    p.groups = Paged::of(vec![
        group("g-con", "Contractors", 1, None),
        group(
            "g-editors",
            "Editors",
            2,
            Some(mapping(
                "g-editors",
                "Editors",
                OrgRole::Admin,
                &[("web", "content_manager")],
            )),
        ),
        group(
            "g-engineering",
            "Engineering",
            3,
            Some(mapping("g-engineering", "Engineering", OrgRole::Admin, &[])),
        ),
        group("g-platform", "Platform admins", 1, None),
    ]);
    p.update(PaneMsg::Poll, &cx);
    (p, cx, changes)
}

pub(super) fn line_of<'a>(s: &'a str, what: &str) -> &'a str {
    s.lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what}:\n{s}"))
}

#[test]
fn with_a_comparison_changed_mappings_are_marked_and_the_detail_says_what_changed() {
    let (mut p, cx, changes) = compared();
    let vx = ViewCtx {
        read_only: true,
        changes: Some(&changes),
        ..ViewCtx::new(Theme::mono())
    };
    let s = screen(80, 24, |f| p.view(f, f.area(), &vx));
    assert!(line_of(&s, "GROUP").contains("│  Δ GROUP"), "{s}");
    assert!(
        line_of(&s, "Contractors").contains("│›   Contractors"),
        "{s}"
    );
    assert!(line_of(&s, "Editors").contains("│  ~ Editors"), "{s}");
    assert!(
        line_of(&s, "Engineering").contains("│  ~ Engineering"),
        "{s}"
    );
    assert!(
        line_of(&s, "Platform").contains("│  - Platform admins"),
        "{s}"
    );
    // Unchanged: the detail says nothing about OLD.
    assert!(!s.contains("since q1.json"), "{s}");

    p.update(PaneMsg::Action(Action::Down), &cx);
    let s = screen(80, 24, |f| p.view(f, f.area(), &vx));
    let lines: Vec<&str> = s.lines().collect();
    let top = lines.iter().position(|l| l.contains("┌ Editors")).unwrap();
    assert!(lines[top + 1].contains("2 members · org role Admin"), "{s}");
    assert!(
        lines[top + 2].contains("Δ since q1.json: mapping org role Member → Admin"),
        "{s}"
    );

    p.update(PaneMsg::Action(Action::Down), &cx);
    let s = screen(80, 24, |f| p.view(f, f.area(), &vx));
    let lines: Vec<&str> = s.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.contains("Δ since q1.json:"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(
        lines[head + 1].contains("  mapping org role Member → Admin"),
        "{s}"
    );
    assert!(
        lines[head + 2].contains("  - mapping stack role Website / Developer"),
        "{s}"
    );

    p.update(PaneMsg::Action(Action::Bottom), &cx);
    let s = screen(80, 24, |f| p.view(f, f.area(), &vx));
    assert!(s.contains("not mapped"), "{s}");
    // A removed mapping: what it granted, one line each.
    let lines: Vec<&str> = s.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.contains("│Δ since q1.json:"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(
        lines[head + 1].contains("  - mapping removed was org role Admin"),
        "{s}"
    );
    assert!(
        lines[head + 2].contains("  - mapping stack role Mobile app / Admin"),
        "{s}"
    );
}

#[test]
fn without_a_comparison_the_group_list_has_no_mark_column() {
    let (mut p, _, _) = compared();
    p.update(PaneMsg::Poll, &cx());
    let s = screen(80, 24, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(line_of(&s, "GROUP").contains("│  GROUP"), "{s}");
    assert!(line_of(&s, "Editors").contains("│  Editors"), "{s}");
    assert!(!s.contains('Δ') && !s.contains("since"), "{s}");
}

mod stack_commands {
    use super::super::*;
    use crate::client::{Stack, StackRoleInfo};

    fn with_stacks() -> MappingPane {
        MappingPane {
            stacks: Some(vec![Stack {
                uid: "st_web".into(),
                name: "Web".into(),
                roles: vec![
                    StackRoleInfo {
                        uid: "developer".into(),
                        name: "Developer".into(),
                        builtin: true,
                    },
                    StackRoleInfo {
                        uid: "role_rm".into(),
                        name: "Release Manager".into(),
                        builtin: false,
                    },
                ],
            }]),
            ..Default::default()
        }
    }

    fn call_of(cmds: &[Cmd]) -> Option<Call> {
        cmds.iter().find_map(|c| match c {
            Cmd::Call { call, .. } => Some(call.clone()),
            _ => None,
        })
    }

    fn toast_of(cmds: &[Cmd]) -> String {
        cmds.iter()
            .find_map(|c| match c {
                Cmd::Toast(t) => Some(t.text.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    #[test]
    fn names_resolve_to_uids_and_bad_input_says_what_to_type() {
        let mut p = with_stacks();
        assert_eq!(
            call_of(&p.stack_command(StackCommand::New, "\"Mobile App\"")),
            Some(Call::CreateStack {
                name: "Mobile App".into()
            })
        );
        assert_eq!(
            call_of(&p.stack_command(StackCommand::Role, "web \"QA Lead\"")),
            Some(Call::CreateRole {
                stack_uid: "st_web".into(),
                name: "QA Lead".into()
            })
        );
        assert_eq!(
            call_of(&p.stack_command(
                StackCommand::RenameRole,
                "st_web \"release manager\" \"Release Lead\""
            )),
            Some(Call::RenameRole {
                stack_uid: "st_web".into(),
                role_uid: "role_rm".into(),
                name: "Release Lead".into()
            })
        );
        let t = toast_of(&p.stack_command(StackCommand::RenameRole, "Web Developer Coder"));
        assert!(t.contains("built-in"), "{t}");
        let t = toast_of(&p.stack_command(StackCommand::Role, "Mobile QA"));
        assert!(
            t.contains("no stack 'Mobile'") && t.contains("\"Web\""),
            "{t}"
        );
        let t = toast_of(&p.stack_command(StackCommand::Role, "Web QA Lead"));
        assert!(t.contains("double quotes"), "{t}");
    }

    #[test]
    fn an_answer_says_what_changed_and_reads_the_stacks_again() {
        let mut p = with_stacks();
        let call = Call::CreateRole {
            stack_uid: "st_web".into(),
            name: "QA".into(),
        };
        let cmds = p.update(
            PaneMsg::Reply {
                slot: "stack_edit",
                call,
                result: Ok(Reply::Role(StackRoleInfo {
                    uid: "role_qa".into(),
                    name: "QA".into(),
                    builtin: false,
                })),
            },
            &Ctx::default(),
        );
        assert!(toast_of(&cmds).contains("role QA added to Web"), "{cmds:?}");
        assert!(matches!(call_of(&cmds), Some(Call::Stacks(_))));
    }
}
