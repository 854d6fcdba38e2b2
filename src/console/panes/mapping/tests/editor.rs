//! The mapping editor: its dropdowns, the impact preview, save, delete and unsaved edits.

use super::*;

#[test]
fn enter_edits_the_selected_group_starting_from_its_saved_mapping() {
    let mut p = pane();
    act(&mut p, Action::Bottom);
    let c = calls(&act(&mut p, Action::Open));
    // The freshest copy is fetched; nothing is previewed before an edit.
    assert_eq!(
        c,
        vec![(
            "mapping",
            Call::Mapping {
                group_id: "g-dev".into()
            }
        )]
    );
    let e = p.editor.as_ref().unwrap();
    assert_eq!(e.group.as_ref().unwrap().name, "Developers");
    assert!(!e.is_new);
    assert_eq!(e.draft.org_role, OrgRole::Member);
    assert_eq!(
        e.draft.stack_roles,
        [key_of("app", "developer"), key_of("dev", "developer")]
            .into_iter()
            .collect()
    );
    assert!(!p.dirty());
    assert_eq!(e.impact, Impact::Unchanged);
    assert!(
        p.input().is_none(),
        "the editor leaves q, Tab and the keymap alone"
    );
    // The group of an edit is fixed: the cursor cannot go up to it.
    act(&mut p, Action::Up);
    assert_eq!(p.editor.as_ref().unwrap().focus, 1);
    // `e` does the same as Enter.
    let mut p = pane();
    act(&mut p, Action::EditMapping);
    assert_eq!(
        p.editor.as_ref().unwrap().group.as_ref().unwrap().id,
        "g-adm"
    );
}

#[test]
fn the_org_role_dropdown_offers_admin_and_member_and_a_choice_is_previewed() {
    let mut p = editing_developers();
    assert!(act(&mut p, Action::Open).is_empty());
    match &p.popup {
        Some(Popup::OrgRole(d)) => {
            assert_eq!(
                d.shown_labels(),
                ["Admin", "Member"],
                "Owner is never mapped"
            );
            assert_eq!(d.highlighted(), Some(&OrgRole::Member));
        }
        other => panic!("{other:?}"),
    }
    assert!(p.input().is_some());
    typed(&mut p, "adm");
    let c = calls(&press(&mut p, key(KeyCode::Enter)));
    assert!(p.popup.is_none());
    let e = p.editor.as_ref().unwrap();
    assert_eq!(e.draft.org_role, OrgRole::Admin);
    assert!(p.dirty());
    assert_eq!(e.impact, Impact::Loading);
    assert_eq!(
        c,
        vec![(
            "preview",
            Call::Preview {
                group_id: "g-dev".into(),
                of: PreviewOf::Save(MappingBody {
                    org_role: OrgRole::Admin,
                    stack_roles: vec![key_of("app", "developer"), key_of("dev", "developer")],
                }),
            }
        )]
    );
    // Esc closes a dropdown without changing anything.
    act(&mut p, Action::Open);
    press(&mut p, key(KeyCode::Esc));
    assert!(p.popup.is_none());
    assert_eq!(p.editor.as_ref().unwrap().draft.org_role, OrgRole::Admin);
}

#[test]
fn a_stack_dropdown_ticks_several_roles_and_each_change_asks_a_new_preview() {
    let mut p = editing_developers();
    // Org role, Marketing Site, Developer stack, Mobile App.
    act(&mut p, Action::Bottom);
    assert_eq!(p.editor.as_ref().unwrap().focus, 4);
    act(&mut p, Action::Open);
    match &p.popup {
        Some(Popup::StackRoles { stack_uid, list }) => {
            assert_eq!(stack_uid, "app");
            assert!(list.is_multi());
            assert_eq!(list.ticked(), vec!["developer".to_string()]);
            assert!(list.shown_labels().contains(&"Release Manager (custom)"));
        }
        other => panic!("{other:?}"),
    }
    typed(&mut p, "release");
    press(&mut p, ch(' '));
    let c = calls(&press(&mut p, key(KeyCode::Enter)));
    let want = MappingBody {
        org_role: OrgRole::Member,
        stack_roles: vec![
            key_of("app", "developer"),
            key_of("app", "rm"),
            key_of("dev", "developer"),
        ],
    };
    assert_eq!(
        c,
        vec![(
            "preview",
            Call::Preview {
                group_id: "g-dev".into(),
                of: PreviewOf::Save(want.clone()),
            }
        )]
    );
    // Untick Developer on Mobile App, keep Release Manager: a second preview, same slot,
    // so the app cancels the first.
    act(&mut p, Action::Open);
    press(&mut p, key(KeyCode::Down));
    press(&mut p, ch(' '));
    let c2 = calls(&press(&mut p, key(KeyCode::Enter)));
    assert_eq!(c2[0].0, "preview");
    assert_eq!(
        p.editor.as_ref().unwrap().draft.roles_on("app"),
        vec!["rm".to_string()]
    );
    // The first answer arrives late: it is about an older draft and is dropped.
    let old = preview(vec![], 24, 24, 0);
    reply(&mut p, "preview", c[0].1.clone(), Reply::Preview(old));
    assert_eq!(p.editor.as_ref().unwrap().impact, Impact::Loading);
    let new = preview(vec![], 24, 24, 0);
    reply(
        &mut p,
        "preview",
        c2[0].1.clone(),
        Reply::Preview(new.clone()),
    );
    assert_eq!(p.editor.as_ref().unwrap().impact, Impact::Ready(new));
}

#[test]
fn going_back_to_the_saved_roles_clears_the_preview_and_the_dirt() {
    let mut p = editing_developers();
    act(&mut p, Action::Open);
    typed(&mut p, "admin");
    press(&mut p, key(KeyCode::Enter));
    assert!(p.dirty());
    act(&mut p, Action::Open);
    typed(&mut p, "member");
    let c = press(&mut p, key(KeyCode::Enter));
    assert!(calls(&c).is_empty());
    assert!(!p.dirty());
    assert_eq!(p.editor.as_ref().unwrap().impact, Impact::Unchanged);
    // Nothing to save then.
    let c = act(&mut p, Action::Save);
    assert!(calls(&c).is_empty());
    assert!(toasts(&c)[0].contains("nothing to save"));
}

#[test]
fn the_preview_reads_as_sentences_with_counts() {
    let p = preview(
        vec![
            RoleCount {
                role: RoleRef::Org {
                    org_role: OrgRole::Admin,
                },
                gain: 0,
                lose: 3,
            },
            RoleCount {
                role: RoleRef::Stack(sref("app", "developer")),
                gain: 34,
                lose: 0,
            },
            RoleCount {
                role: RoleRef::Stack(sref("web", "admin")),
                gain: 0,
                lose: 1,
            },
            RoleCount {
                role: RoleRef::Org {
                    org_role: OrgRole::Admin,
                },
                gain: 2,
                lose: 0,
            },
        ],
        40,
        37,
        1,
    );
    assert_eq!(
        impact_sentences(&p),
        [
            "↓ lowers org role to Member for 3 members",
            "↑ raises org role to Admin for 2 members",
            "− removes Admin on Marketing Site from 1 member",
            "+ grants Developer on Mobile App to 34 members",
        ]
    );
    assert_eq!(
        impact_totals(&p),
        "37 of 40 members change at once; 1 pending request rewritten"
    );
    assert_eq!(
        impact_sentences(&preview(vec![], 6, 0, 0)),
        ["no member's access changes (6 members in the group)"]
    );
    // Issue 24, item 10: "to 4 members" beside "3 of 7 change at once" is explained.
    let p = preview(
        vec![RoleCount {
            role: RoleRef::Stack(sref("app", "developer")),
            gain: 4,
            lose: 0,
        }],
        7,
        3,
        0,
    );
    assert!(impact_sentences(&p)[0].ends_with("to 4 members"));
    let t = impact_totals(&p);
    assert!(
        t.starts_with(
            "3 of 7 members change at once. The counts above include members who are not active"
        ),
        "{t}"
    );
}

#[test]
fn a_superseded_request_decodes_in_a_preview() {
    // The server writes `after: null` when an edit leaves a request nothing to approve.
    let p: Preview = serde_json::from_value(serde_json::json!({
        "granted_changes": [],
        "pending_changes": [{
            "member_id": "m1", "email": "priya@acme.example", "request_id": "r1",
            "before": {"org_role_from": "member", "org_role_to": "admin",
                       "stack_gains": [], "stack_losses": []},
            "after": null
        }],
        "counts": {"members": 4, "granted_changes": 0, "pending_changes": 1, "roles": []}
    }))
    .unwrap();
    assert_eq!(p.pending_changes[0].after, None);
}

#[test]
fn save_puts_the_draft_then_closes_the_editor_and_reloads_the_list() {
    let mut p = editing_developers();
    act(&mut p, Action::Open);
    typed(&mut p, "admin");
    press(&mut p, key(KeyCode::Enter));
    let c = calls(&act(&mut p, Action::Save));
    let body = MappingBody {
        org_role: OrgRole::Admin,
        stack_roles: vec![key_of("app", "developer"), key_of("dev", "developer")],
    };
    assert_eq!(
        c,
        vec![(
            "save",
            Call::PutMapping {
                group_id: "g-dev".into(),
                body: body.clone()
            }
        )]
    );
    assert!(p.editor.as_ref().unwrap().saving);
    // A second press while saving sends nothing.
    assert!(calls(&act(&mut p, Action::Save)).is_empty());
    let saved = SavedMapping {
        mapping: mapping(
            "g-dev",
            "Developers",
            OrgRole::Admin,
            &[("dev", "developer"), ("app", "developer")],
        ),
        applied: Applied {
            granted_changes: 24,
            pending_changes: 1,
        },
    };
    let cmds = reply(&mut p, "save", c[0].1.clone(), Reply::SavedMapping(saved));
    assert!(p.editor.is_none());
    assert!(!p.dirty());
    let t = toasts(&cmds);
    assert_eq!(
        t,
        ["Developers saved · 24 members changed · 1 request rewritten"]
    );
    let c = calls(&cmds);
    assert!(matches!(&c[..], [("groups", Call::Groups { .. })]));
    // The list comes back in another order: the saved group stays selected.
    let mut gs = groups();
    gs.rotate_left(2);
    reply(&mut p, "groups", c[0].1.clone(), Reply::Groups(page(gs)));
    assert_eq!(p.selected_group().unwrap().id, "g-dev");
}

#[test]
fn a_refused_save_keeps_the_editor_and_says_why() {
    let mut p = editing_developers();
    act(&mut p, Action::Open);
    typed(&mut p, "admin");
    press(&mut p, key(KeyCode::Enter));
    let c = calls(&act(&mut p, Action::Save));
    let cmds = p.update(
        PaneMsg::Reply {
            slot: "save",
            call: c[0].1.clone(),
            result: Err(ApiError::Rejected {
                status: 400,
                code: "bad_request".into(),
                message: "stack_roles: unknown stack".into(),
            }),
        },
        &cx(),
    );
    assert!(toasts(&cmds)[0].contains("unknown stack"));
    let e = p.editor.as_ref().unwrap();
    assert!(!e.saving);
    assert!(p.dirty());
}

#[test]
fn delete_asks_first_defaults_to_cancel_and_shows_its_impact() {
    let mut p = pane();
    let c = calls(&act(&mut p, Action::DeleteMapping));
    assert_eq!(
        c,
        vec![(
            "delete_preview",
            Call::Preview {
                group_id: "g-adm".into(),
                of: PreviewOf::Delete
            }
        )]
    );
    match &p.popup {
        Some(Popup::Delete(Ask { confirm, .. })) => {
            assert!(!confirm.on_action());
            assert!(confirm.danger);
            assert!(confirm.message.contains("Admins (4 members)"));
        }
        other => panic!("{other:?}"),
    }
    // The impact lands in the question.
    let lose = preview(
        vec![RoleCount {
            role: RoleRef::Org {
                org_role: OrgRole::Admin,
            },
            gain: 0,
            lose: 4,
        }],
        4,
        4,
        0,
    );
    reply(
        &mut p,
        "delete_preview",
        c[0].1.clone(),
        Reply::Preview(lose),
    );
    match &p.popup {
        Some(Popup::Delete(Ask { confirm, .. })) => assert!(
            confirm
                .message
                .ends_with("Impact: ↓ lowers org role to Member for 4 members."),
            "{}",
            confirm.message
        ),
        other => panic!("{other:?}"),
    }
    // Enter on the default button cancels.
    assert!(press(&mut p, key(KeyCode::Enter)).is_empty());
    assert!(p.popup.is_none());
    act(&mut p, Action::DeleteMapping);
    press(&mut p, key(KeyCode::Tab));
    let c = calls(&press(&mut p, key(KeyCode::Enter)));
    assert_eq!(
        c,
        vec![(
            "delete",
            Call::DeleteMapping {
                group_id: "g-adm".into()
            }
        )]
    );
    let cmds = reply(&mut p, "delete", c[0].1.clone(), Reply::Done);
    assert_eq!(toasts(&cmds), ["mapping of Admins deleted"]);
    assert!(matches!(&calls(&cmds)[..], [("groups", _)]));
}

#[test]
fn deleting_an_unmapped_group_says_there_is_nothing() {
    let mut p = pane();
    act(&mut p, Action::Down);
    let c = act(&mut p, Action::DeleteMapping);
    assert!(calls(&c).is_empty());
    assert_eq!(toasts(&c), ["Contractors has no mapping to delete"]);
    assert!(p.popup.is_none());
}

#[test]
fn delete_from_the_editor_targets_the_group_being_edited() {
    let mut p = editing_developers();
    let c = calls(&act(&mut p, Action::DeleteMapping));
    assert!(
        matches!(&c[..], [("delete_preview", Call::Preview { group_id, .. })] if group_id == "g-dev")
    );
    press(&mut p, key(KeyCode::Right));
    let c = calls(&press(&mut p, key(KeyCode::Enter)));
    reply(&mut p, "delete", c[0].1.clone(), Reply::Done);
    assert!(p.editor.is_none(), "the deleted mapping's editor closes");
}

#[test]
fn esc_with_unsaved_edits_asks_before_discarding() {
    let mut p = editing_developers();
    // Clean: Esc closes at once.
    act(&mut p, Action::Back);
    assert!(p.editor.is_none());
    let mut p = editing_developers();
    act(&mut p, Action::Open);
    typed(&mut p, "admin");
    press(&mut p, key(KeyCode::Enter));
    act(&mut p, Action::Back);
    assert!(matches!(&p.popup, Some(Popup::Discard(a)) if !a.confirm.on_action()));
    // Enter on Cancel: still editing, edits kept.
    press(&mut p, key(KeyCode::Enter));
    assert!(p.dirty());
    act(&mut p, Action::Back);
    press(&mut p, key(KeyCode::Tab));
    press(&mut p, key(KeyCode::Enter));
    assert!(p.editor.is_none());
    assert!(!p.dirty());
}

#[test]
fn n_starts_with_the_group_dropdown_and_esc_there_abandons() {
    let mut p = pane();
    act(&mut p, Action::NewMapping);
    match &p.popup {
        Some(Popup::Group(d)) => assert_eq!(
            d.shown_labels(),
            [
                "Admins · 4 members · mapped",
                "Contractors · 6 members · not mapped",
                "Developers · 24 members · mapped"
            ]
        ),
        other => panic!("{other:?}"),
    }
    assert!(!p.dirty(), "no group yet, nothing to lose");
    press(&mut p, key(KeyCode::Esc));
    assert!(p.editor.is_none());
    assert!(p.popup.is_none());
}

#[test]
fn a_new_mapping_for_an_unmapped_group_is_previewed_and_saved() {
    let mut p = pane();
    act(&mut p, Action::NewMapping);
    typed(&mut p, "contr");
    let c = calls(&press(&mut p, key(KeyCode::Enter)));
    let e = p.editor.as_ref().unwrap();
    assert!(e.is_new);
    assert_eq!(e.group.as_ref().unwrap().id, "g-con");
    assert_eq!(e.baseline, None);
    assert_eq!(e.focus, 1, "the cursor moves on to the org role");
    assert!(
        !p.dirty(),
        "an untouched unmapped group has no unsaved edits (issue 15)"
    );
    assert!(
        p.editor.as_ref().unwrap().savable(),
        "it may still be mapped as it stands"
    );
    assert_eq!(
        c[0],
        (
            "mapping",
            Call::Mapping {
                group_id: "g-con".into()
            }
        )
    );
    assert!(matches!(&c[1], ("preview", Call::Preview { group_id, .. }) if group_id == "g-con"));
    // The group row of a new mapping stays choosable.
    act(&mut p, Action::Up);
    act(&mut p, Action::Open);
    assert!(
        matches!(&p.popup, Some(Popup::Group(d)) if d.highlighted() == Some(&"g-con".to_string()))
    );
    press(&mut p, key(KeyCode::Esc));
    assert!(
        p.editor.is_some(),
        "Esc in the group list keeps a chosen group"
    );
    // Developer on Marketing Site.
    act(&mut p, Action::Down);
    act(&mut p, Action::Down);
    act(&mut p, Action::Open);
    typed(&mut p, "dev");
    press(&mut p, ch(' '));
    press(&mut p, key(KeyCode::Enter));
    let c = calls(&act(&mut p, Action::Save));
    assert_eq!(
        c,
        vec![(
            "save",
            Call::PutMapping {
                group_id: "g-con".into(),
                body: MappingBody {
                    org_role: OrgRole::Member,
                    stack_roles: vec![key_of("web", "developer")],
                }
            }
        )]
    );
}

#[test]
fn picking_a_mapped_group_for_a_new_mapping_edits_its_mapping() {
    let mut p = pane();
    act(&mut p, Action::NewMapping);
    typed(&mut p, "admins");
    let cmds = press(&mut p, key(KeyCode::Enter));
    assert!(toasts(&cmds)[0].contains("mapped already"));
    let e = p.editor.as_ref().unwrap();
    assert_eq!(e.draft.org_role, OrgRole::Admin);
    assert!(!p.dirty());
    // Issue 15: its title says it is edited, not new; an unmapped group's says new.
    let s = screen(80, 24, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(s.contains("Edit mapping · Admins"), "{s}");
    assert!(!s.contains("New mapping"), "{s}");
    let mut p = pane();
    act(&mut p, Action::NewMapping);
    typed(&mut p, "contr");
    press(&mut p, key(KeyCode::Enter));
    let s = screen(80, 24, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(s.contains("New mapping · Contractors"), "{s}");
}

#[test]
fn the_servers_copy_of_the_mapping_becomes_the_baseline() {
    let mut p = editing_developers();
    let fresh = mapping("g-dev", "Developers", OrgRole::Member, &[("web", "admin")]);
    let c = reply(
        &mut p,
        "mapping",
        Call::Mapping {
            group_id: "g-dev".into(),
        },
        Reply::Mapping(Some(fresh)),
    );
    assert!(c.is_empty());
    let e = p.editor.as_ref().unwrap();
    assert_eq!(e.draft.roles_on("web"), vec!["admin".to_string()]);
    assert!(!p.dirty());
    // Ctrl-r while editing fetches it again, with the list.
    let c = calls(&p.update(PaneMsg::Refresh, &cx()));
    assert!(c.contains(&(
        "mapping",
        Call::Mapping {
            group_id: "g-dev".into()
        }
    )));
    // An edit survives a fresh copy that did not change; the preview is asked again.
    act(&mut p, Action::Open);
    typed(&mut p, "admin");
    press(&mut p, key(KeyCode::Enter));
    let fresh = mapping("g-dev", "Developers", OrgRole::Member, &[("web", "admin")]);
    let c = reply(
        &mut p,
        "mapping",
        Call::Mapping {
            group_id: "g-dev".into(),
        },
        Reply::Mapping(Some(fresh)),
    );
    assert_eq!(p.editor.as_ref().unwrap().draft.org_role, OrgRole::Admin);
    assert!(matches!(&calls(&c)[..], [("preview", _)]));
    // An answer about another group is ignored.
    reply(
        &mut p,
        "mapping",
        Call::Mapping {
            group_id: "g-adm".into(),
        },
        Reply::Mapping(None),
    );
    assert!(p.editor.as_ref().unwrap().baseline.is_some());
}

#[test]
fn a_failed_preview_is_shown_in_place() {
    let mut p = editing_developers();
    act(&mut p, Action::Open);
    typed(&mut p, "admin");
    let c = calls(&press(&mut p, key(KeyCode::Enter)));
    p.update(
        PaneMsg::Reply {
            slot: "preview",
            call: c[0].1.clone(),
            result: Err(ApiError::NotFound {
                message: "no group".into(),
            }),
        },
        &cx(),
    );
    assert!(
        matches!(&p.editor.as_ref().unwrap().impact, Impact::Failed(m) if m.contains("no group"))
    );
}

#[test]
fn leaving_the_pane_or_quitting_with_unsaved_edits_asks_first() {
    use crate::console::app::tests::{asking, code, key as app_key, state};
    use crate::console::app::{Leave, update};
    let mut s = state();
    s.pane = ID;
    s.mapping = editing_developers();
    // Clean editor: q quits at once.
    assert_eq!(update(&mut s, app_key('q')), vec![Cmd::Quit]);
    let mut s = state();
    s.pane = ID;
    s.mapping = editing_developers();
    update(&mut s, code(KeyCode::Enter));
    for c in "admin".chars() {
        update(&mut s, app_key(c));
    }
    update(&mut s, code(KeyCode::Enter));
    assert!(s.mapping.dirty());
    assert!(update(&mut s, code(KeyCode::Tab)).is_empty());
    assert_eq!(asking(&s), Some(Leave::To(PaneId::Audit)));
    update(&mut s, app_key('n'));
    assert_eq!(s.pane, ID);
    assert!(update(&mut s, app_key('q')).is_empty());
    assert_eq!(asking(&s), Some(Leave::Quit));
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.pane, ID);
    assert!(s.mapping.dirty(), "staying keeps the edits");
    // Esc reaches the editor and asks about the edits too.
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(s.mapping.popup, Some(Popup::Discard(_))));
}

#[test]
fn the_editor_draws_marks_and_the_preview_without_colour() {
    let mut p = editing_developers();
    act(&mut p, Action::Open);
    typed(&mut p, "admin");
    let c = calls(&press(&mut p, key(KeyCode::Enter)));
    let pv = preview(
        vec![RoleCount {
            role: RoleRef::Org {
                org_role: OrgRole::Admin,
            },
            gain: 24,
            lose: 0,
        }],
        24,
        24,
        0,
    );
    reply(&mut p, "preview", c[0].1.clone(), Reply::Preview(pv));
    let s = screen(80, 21, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(s.contains("Edit mapping · Developers"), "{s}");
    assert!(s.contains("› *Org role"), "{s}");
    assert!(s.contains("Mobile App") && s.contains("Developer ▾"), "{s}");
    assert!(
        s.contains("↑ raises org role to Admin for 24 members"),
        "{s}"
    );
    assert!(s.contains("* unsaved edits"), "{s}");
}

#[test]
fn words_wrap_at_the_width_and_long_words_are_cut() {
    assert_eq!(
        wrap_words("grants Developer on Mobile App", 12),
        ["grants", "Developer on", "Mobile App"]
    );
    assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    assert_eq!(wrap_words("", 5), [""]);
}

#[test]
fn a_members_change_reads_in_words() {
    let d = crate::client::Diff {
        org_role_from: Some(OrgRole::Member),
        org_role_to: Some(OrgRole::Admin),
        stack_gains: vec![sref("app", "developer"), sref("app", "admin")],
        stack_losses: vec![sref("web", "admin")],
    };
    assert_eq!(
        diff_words(&d),
        "Member → Admin, +Admin on Mobile App, +Developer on Mobile App, −Admin on Marketing \
         Site"
    );
    assert_eq!(diff_words(&crate::client::Diff::default()), "no change");
}

fn preview_with_people(n: usize, total: u64) -> Preview {
    let mut p = preview(
        vec![RoleCount {
            role: RoleRef::Org {
                org_role: OrgRole::Admin,
            },
            gain: total,
            lose: 0,
        }],
        total,
        total,
        1,
    );
    // The server's order follows ids, not emails.
    p.granted_changes = (0..n)
        .rev()
        .map(|i| crate::client::GrantedChange {
            member_id: format!("m{i}"),
            email: format!("dev{i}@acme.example"),
            diff: crate::client::Diff {
                org_role_from: Some(OrgRole::Member),
                org_role_to: Some(OrgRole::Admin),
                ..Default::default()
            },
        })
        .collect();
    p.pending_changes = vec![crate::client::PendingChange {
        member_id: "m9".into(),
        email: "priya@acme.example".into(),
        request_id: "r1".into(),
        before: Default::default(),
        after: None,
    }];
    p
}

fn editor_showing(pv: Preview) -> MappingPane {
    let mut p = editing_developers();
    act(&mut p, Action::Open);
    typed(&mut p, "admin");
    let c = calls(&press(&mut p, key(KeyCode::Enter)));
    reply(&mut p, "preview", c[0].1.clone(), Reply::Preview(pv));
    p
}

#[test]
fn the_impact_lists_who_changes_by_email_and_how_many_more() {
    let p = editor_showing(preview_with_people(5, 30));
    let s = screen(80, 21, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(s.contains("At once:"), "{s}");
    assert!(s.contains("  dev0@acme.example  Member → Admin"), "{s}");
    assert!(s.contains("… and 27 more"), "{s}");
    let first = s.find("dev0@").unwrap();
    assert!(first < s.find("dev1@").unwrap(), "sorted by email: {s}");
    // With room, every listed member and the pending request show.
    let p = editor_showing(preview_with_people(5, 5));
    let s = screen(120, 37, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    for i in 0..5 {
        assert!(s.contains(&format!("dev{i}@acme.example")), "{s}");
    }
    assert!(!s.contains("more"), "{s}");
    assert!(
        s.contains("Pending requests:")
            && s.contains("priya@acme.example  nothing left to approve"),
        "{s}"
    );
}

#[test]
fn switching_a_new_mapping_to_an_unmapped_group_keeps_the_chosen_roles() {
    let mut p = pane();
    act(&mut p, Action::NewMapping);
    typed(&mut p, "admins");
    press(&mut p, key(KeyCode::Enter));
    act(&mut p, Action::Open);
    typed(&mut p, "member");
    press(&mut p, key(KeyCode::Enter));
    // To Contractors, unmapped: Member and Admins' three stack roles come along.
    act(&mut p, Action::Top);
    act(&mut p, Action::Open);
    typed(&mut p, "contr");
    let c = calls(&press(&mut p, key(KeyCode::Enter)));
    let e = p.editor.as_ref().unwrap();
    assert_eq!(e.group.as_ref().unwrap().id, "g-con");
    assert_eq!(e.baseline, None);
    assert_eq!(e.draft.org_role, OrgRole::Member);
    assert_eq!(e.draft.stack_roles.len(), 3);
    assert!(matches!(&c[1], ("preview", Call::Preview { group_id, .. }) if group_id == "g-con"));
    // To Developers, mapped: its own mapping, and a toast says so.
    act(&mut p, Action::Top);
    act(&mut p, Action::Open);
    typed(&mut p, "develop");
    let cmds = press(&mut p, key(KeyCode::Enter));
    assert!(toasts(&cmds)[0].contains("mapped already"));
    let e = p.editor.as_ref().unwrap();
    assert_eq!(e.draft, *e.baseline.as_ref().unwrap());
    assert!(!p.dirty());
}

/// Issue 15: the editor on an unmapped group with nothing changed said "* unsaved edits",
/// then asked before leaving and blocked pane switches and q. Untouched, it leaves at once;
/// once a role is picked, leaving asks.
#[test]
fn an_untouched_unmapped_group_leaves_without_a_question() {
    let mut p = pane();
    act(&mut p, Action::NewMapping);
    typed(&mut p, "contr");
    press(&mut p, key(KeyCode::Enter));
    assert!(p.editor.is_some());
    assert!(!p.dirty());
    press(&mut p, key(KeyCode::Esc));
    assert!(p.editor.is_none(), "Esc left the untouched editor");
    assert!(p.popup.is_none(), "without asking");
    act(&mut p, Action::NewMapping);
    typed(&mut p, "contr");
    press(&mut p, key(KeyCode::Enter));
    act(&mut p, Action::Down);
    act(&mut p, Action::Down);
    act(&mut p, Action::Open);
    typed(&mut p, "dev");
    press(&mut p, ch(' '));
    press(&mut p, key(KeyCode::Enter));
    assert!(p.dirty(), "a stack role picked is an edit");
    press(&mut p, key(KeyCode::Esc));
    assert!(matches!(p.popup, Some(Popup::Discard(_))), "{:?}", p.popup);
}

/// Issue 24, item 4: at 60×20 the impact gets a few cut lines; `i` shows it whole over the
/// pane (every member the server listed, the pending request too), j scrolls, Esc comes back
/// to the editor, and Esc again closes the editor.
#[test]
fn i_opens_the_impact_whole_and_esc_comes_back_one_level_at_a_time() {
    let mut p = editor_showing(preview_with_people(12, 12));
    let s = screen(60, 18, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(!s.contains("dev9@acme.example"), "cut at 60×20: {s}");
    press(&mut p, ch('i'));
    assert_eq!(p.impact_whole, Some(0));
    assert!(
        p.hints()
            .is_some_and(|h| h.iter().any(|(a, _)| *a == Action::Back))
    );
    let whole = |p: &MappingPane| {
        screen(60, 40, |f| {
            p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
        })
    };
    let s = whole(&p);
    for i in 0..12 {
        assert!(s.contains(&format!("dev{i}@acme.example")), "{s}");
    }
    assert!(s.contains("priya@acme.example"), "{s}");
    press(&mut p, ch('j'));
    assert_eq!(p.impact_whole, Some(1));
    press(&mut p, key(KeyCode::Esc));
    assert_eq!(p.impact_whole, None);
    assert!(p.editor.is_some(), "the editor stays");
}

/// Issue 24, item 11: an emoji in a stack's name takes two columns; its row lines up with
/// the others.
#[test]
fn an_emoji_stack_name_keeps_its_row_in_line() {
    let mut p = pane();
    p.stacks.as_mut().unwrap()[2].name = "🚀 Mobile".into();
    act(&mut p, Action::Bottom);
    act(&mut p, Action::Open);
    let s = screen(80, 21, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    // A screen cell a character (the emoji's second cell reads as a space): the value
    // column starts in the same cell on every row.
    let col = |name: &str, value: &str| {
        let l = s
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name}: {s}"));
        let at = l.find(value).unwrap();
        l[..at].chars().count()
    };
    assert_eq!(
        col("Mobile", "Developer ▾"),
        col("Marketing Site", "— none"),
        "{s}"
    );
}
