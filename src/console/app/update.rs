//! The app's update: messages in, commands out; keys by mode, then by the key table.

use super::commands::*;
use super::*;

/// The whole console's behaviour.
pub fn update(s: &mut State, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Start => {
            s.redraw = true;
            let mut out = s.app_fetches();
            out.extend(s.go(s.pane));
            out
        }
        Msg::Resize(w, h) => {
            s.size = (w, h);
            s.redraw = true;
            Vec::new()
        }
        Msg::Tick => {
            if s.busy() {
                s.spinner = s.spinner.wrapping_add(1);
                s.redraw = true;
            }
            let before = s.toasts.len();
            for t in &mut s.toasts {
                t.1 = t.1.saturating_sub(1);
            }
            s.toasts.retain(|t| t.1 > 0);
            s.redraw |= before != s.toasts.len();
            Vec::new()
        }
        Msg::Poll => {
            let mut out = Vec::new();
            s.start(
                Owner::App("pending"),
                Call::Approvals {
                    state: Some(RequestState::Pending),
                    page: PageReq::first(1),
                },
                &mut out,
            );
            out.extend(s.send_pane(s.pane, PaneMsg::Poll));
            out
        }
        Msg::Reply { id, result } => {
            let out = on_reply(s, id, result);
            if s.refreshing && s.inflight.is_empty() {
                s.refreshing = false;
                // Offline, the banner says why nothing was refreshed.
                if s.conn == Conn::Online {
                    s.push_toast(Toast {
                        level: Level::Success,
                        text: format!("{} refreshed", s.pane.title()),
                    });
                }
            }
            out
        }
        Msg::Exported { id, result } => {
            if s.exporting != Some(id) {
                return Vec::new();
            }
            s.exporting = None;
            s.redraw = true;
            s.push_toast(match result {
                Ok(path) => Toast {
                    level: Level::Success,
                    text: format!("snapshot written to {path}"),
                },
                Err(e) => Toast {
                    level: Level::Error,
                    text: format!("export failed: {e}"),
                },
            });
            s.next_export()
        }
        Msg::ExportExists { id, path } => {
            if s.exporting != Some(id) {
                return Vec::new();
            }
            s.exporting = None;
            s.redraw = true;
            s.mode = Mode::Confirm(Ask::new(
                Confirm::new(
                    "Overwrite?",
                    format!(
                        "{} exists. Write the new snapshot over it? The file there now is lost.",
                        path.display()
                    ),
                    "Overwrite",
                )
                .dangerous(),
                Leave::Overwrite(path),
            ));
            Vec::new()
        }
        Msg::Key(key) => {
            s.redraw = true;
            on_key(s, key)
        }
        Msg::Mouse(m) => {
            s.redraw = true;
            on_mouse(s, m)
        }
    }
}

pub(super) fn on_reply(s: &mut State, id: ReqId, result: Result<Reply, ApiError>) -> Vec<Cmd> {
    let Some((owner, call)) = s.inflight.remove(&id) else {
        // Cancelled or superseded: its answer is stale.
        return Vec::new();
    };
    s.redraw = true;
    match &result {
        Err(ApiError::Unreachable { url, detail }) => {
            s.conn = Conn::Offline(format!("cannot reach {url}: {detail}"));
        }
        _ => s.conn = Conn::Online,
    }
    match owner {
        Owner::App(slot) => {
            if s.latest.get(&owner) == Some(&id) {
                s.latest.remove(&owner);
            }
            match (slot, result) {
                (_, Ok(Reply::Org(o))) => s.org_name = Some(o.name),
                (_, Ok(Reply::Approvals(p))) => s.pending = Some(p.total),
                (_, Err(ApiError::Unreachable { .. })) => {}
                (_, Err(e)) => s.push_toast(Toast {
                    level: Level::Error,
                    text: e.to_string(),
                }),
                _ => {}
            }
            Vec::new()
        }
        Owner::Pane(pane, slot) => {
            if s.latest.get(&owner) == Some(&id) {
                s.latest.remove(&owner);
            }
            // A decision changes the queue: the header's count follows at once.
            let mut out = Vec::new();
            if call.mutates() && result.is_ok() {
                s.start(
                    Owner::App("pending"),
                    Call::Approvals {
                        state: Some(RequestState::Pending),
                        page: PageReq::first(1),
                    },
                    &mut out,
                );
            }
            out.extend(s.send_pane(pane, PaneMsg::Reply { slot, call, result }));
            out
        }
    }
}

pub(super) fn on_key(s: &mut State, key: KeyEvent) -> Vec<Cmd> {
    if s.keymap.lookup(s.pane, &key) == Some(Action::Interrupt) {
        return vec![Cmd::Quit];
    }
    match std::mem::take(&mut s.mode) {
        Mode::Normal => {}
        Mode::Help {
            scroll,
            search,
            typing,
        } => {
            on_help_key(s, &key, scroll, search, typing);
            return Vec::new();
        }
        Mode::Confirm(ask) => {
            let then = ask.then.clone();
            return match ask.key(s.keymap.press(Context::Dialog, &key)) {
                Answer::Yes(Leave::Quit) => vec![Cmd::Quit],
                Answer::Yes(Leave::To(to)) => s.go(to),
                Answer::Yes(Leave::Overwrite(path)) => s.export_to(path, true),
                Answer::No => match then {
                    // An export not written: say so, and go on with the next one.
                    Leave::Overwrite(path) => {
                        s.push_toast(Toast {
                            level: Level::Info,
                            text: format!("export cancelled: {} left as it was", path.display()),
                        });
                        s.next_export()
                    }
                    _ => Vec::new(),
                },
                Answer::Open(ask) => {
                    s.mode = Mode::Confirm(ask);
                    Vec::new()
                }
            };
        }
        Mode::Command { line, browse } => {
            let press = s.keymap.press(Context::Command, &key);
            return command_key(s, line, browse, press);
        }
        Mode::Changes { scroll } => return changes_key(s, scroll, key),
        Mode::Messages { scroll } => {
            let (page, max) = s.messages_rows();
            if let Some(scroll) = overlay_key(s, scroll, page, max, &key) {
                s.mode = Mode::Messages { scroll };
            }
            return Vec::new();
        }
        Mode::Filter(mut line) => {
            return match s.keymap.press(Context::Field, &key) {
                Press::Act(Action::Open) => Vec::new(),
                Press::Act(Action::Back) => clear_filter(s),
                press => {
                    let changed = line.edit(press);
                    let text = line.text().to_string();
                    s.mode = Mode::Filter(line);
                    if changed {
                        s.filters.insert(s.pane, text.clone());
                        s.send_pane(s.pane, PaneMsg::Filter(text))
                    } else {
                        Vec::new()
                    }
                }
            };
        }
    }
    if let Some(context) = s.pane_ref(s.pane).input() {
        let press = s.keymap.press(context, &key);
        return s.send_pane(s.pane, PaneMsg::Press(press));
    }
    let Some(action) = s.keymap.lookup(s.pane, &key) else {
        // On a snapshot an action key says why it does nothing, as `:` commands do.
        if let Some(b) = s.keymap.removed_for(s.pane, &key) {
            s.push_toast(Toast {
                level: Level::Error,
                text: format!(
                    "read-only: {} ({}) changes nothing on a snapshot",
                    Keymap::keys_text(b),
                    b.help
                ),
            });
        }
        return Vec::new();
    };
    act(s, action)
}

/// A key in the `?` help: `/` searches the keys (typed into as a field: Enter keeps the
/// search, Esc drops it), j/k and the page keys scroll, Esc clears a search, then closes.
fn on_help_key(s: &mut State, key: &KeyEvent, scroll: usize, mut search: LineEdit, typing: bool) {
    let lines = |search: &LineEdit| s.keymap.help_lines(s.pane, search.text()).len();
    // The overlay fills the screen's height less its border when the list is longer.
    let page = (s.size.1 as usize).saturating_sub(2).max(2);
    let next = |scroll: usize, search: LineEdit, typing: bool| {
        // The search line, when shown, takes a row of the overlay.
        let rows = page - usize::from(typing || !search.is_empty());
        Mode::Help {
            scroll: scroll.min(lines(&search).saturating_sub(rows)),
            search,
            typing,
        }
    };
    let mode = if typing {
        match s.keymap.press(Context::Field, key) {
            Press::Act(Action::Open) => next(0, search, false),
            Press::Act(Action::Back) => next(0, LineEdit::default(), false),
            p => {
                search.edit(p);
                next(0, search, true)
            }
        }
    } else {
        match s.keymap.lookup_in(Context::Help, key) {
            Some(Action::Filter) => next(scroll, search, true),
            Some(Action::Back) if !search.is_empty() => next(0, LineEdit::default(), false),
            Some(Action::Back) => Mode::Normal,
            Some(Action::Down) => next(scroll + 1, search, false),
            Some(Action::Up) => next(scroll.saturating_sub(1), search, false),
            Some(Action::PageDown) => next(scroll + page, search, false),
            Some(Action::PageUp) => next(scroll.saturating_sub(page), search, false),
            _ => next(scroll, search, false),
        }
    };
    s.mode = mode;
}

/// With `--mouse`: the wheel moves the list (or scrolls an overlay) three rows a turn, a click
/// on a tab goes to its pane, a click on a list row selects it. Open inputs ignore the mouse.
fn on_mouse(s: &mut State, m: ratatui::crossterm::event::MouseEvent) -> Vec<Cmd> {
    use ratatui::crossterm::event::{MouseButton, MouseEventKind};
    let wheel = match m.kind {
        MouseEventKind::ScrollDown => Some(Action::Down),
        MouseEventKind::ScrollUp => Some(Action::Up),
        _ => None,
    };
    let free = s.pane_ref(s.pane).input().is_none();
    match (&s.mode, wheel, m.kind) {
        (Mode::Changes { scroll }, Some(a), _) => {
            let max = s.changes_max_scroll();
            let scroll = match a {
                Action::Down => (scroll + 3).min(max),
                _ => scroll.saturating_sub(3),
            };
            s.mode = Mode::Changes { scroll };
            Vec::new()
        }
        (Mode::Normal, Some(a), _) if free => (0..3).flat_map(|_| act(s, a)).collect(),
        (Mode::Normal, None, MouseEventKind::Down(MouseButton::Left)) if free => {
            let screen = ratatui::layout::Rect::new(0, 0, s.size.0, s.size.1);
            let [_, tabs, _, body, _] =
                super::super::views::chrome(screen, matches!(s.conn, Conn::Offline(_)));
            if m.row == tabs.y {
                return match super::super::views::tab_at(s.pane, m.column) {
                    Some(p) => s.switch(p),
                    None => Vec::new(),
                };
            }
            if body.contains(ratatui::layout::Position::new(m.column, m.row)) {
                return s.send_pane(
                    s.pane,
                    PaneMsg::Click {
                        column: m.column,
                        row: m.row,
                    },
                );
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Runs a bound action: global ones here, the rest in the pane.
pub fn act(s: &mut State, action: Action) -> Vec<Cmd> {
    match action {
        Action::Quit => {
            if s.any_dirty() {
                s.mode = Mode::Confirm(Ask::new(
                    Confirm::new(
                        "Quit",
                        "There are unsaved edits. Quit anyway? They are lost.",
                        "Quit",
                    )
                    .dangerous(),
                    Leave::Quit,
                ));
                Vec::new()
            } else {
                vec![Cmd::Quit]
            }
        }
        Action::Help => {
            s.mode = Mode::Help {
                scroll: 0,
                search: LineEdit::default(),
                typing: false,
            };
            Vec::new()
        }
        Action::NextPane => s.switch(s.pane.next()),
        Action::PrevPane => s.switch(s.pane.prev()),
        Action::GotoScim => s.switch(PaneId::Scim),
        Action::GotoUsers => s.switch(PaneId::Users),
        Action::GotoMapping => s.switch(PaneId::Mapping),
        Action::GotoAudit => s.switch(PaneId::Audit),
        Action::History => s.history(),
        Action::CommandLine => {
            s.mode = Mode::Command {
                line: LineEdit::default(),
                browse: None,
            };
            Vec::new()
        }
        Action::Filter => {
            s.mode = Mode::Filter(LineEdit::new(s.filter(s.pane)));
            Vec::new()
        }
        Action::Refresh => {
            let mut out = s.app_fetches();
            out.extend(s.send_pane(s.pane, PaneMsg::Refresh));
            s.refreshing = true;
            s.push_toast(Toast {
                level: Level::Info,
                text: format!("refreshing {}…", s.pane.title()),
            });
            out
        }
        Action::ShowChanges => show_changes(s),
        Action::Back if !s.pane_ref(s.pane).inner_level() && !s.filter(s.pane).is_empty() => {
            clear_filter(s)
        }
        other => s.send_pane(s.pane, PaneMsg::Action(other)),
    }
}

pub(super) fn show_changes(s: &mut State) -> Vec<Cmd> {
    if s.changes.is_some() {
        s.mode = Mode::Changes { scroll: 0 };
    } else {
        s.push_toast(Toast {
            level: Level::Error,
            text:
                "no comparison loaded: open the snapshot with `scimdesk review NEW --against OLD`"
                    .into(),
        });
    }
    Vec::new()
}

/// Keys while the changes overlay is open: movement scrolls it, Esc (or `q`, or the key that
/// opened it) closes it, anything else is ignored so that nothing acts behind it.
pub(super) fn changes_key(s: &mut State, scroll: usize, key: KeyEvent) -> Vec<Cmd> {
    let max = s.changes_max_scroll();
    let page = s.changes_rows();
    if let Some(scroll) = overlay_key(s, scroll, page, max, &key) {
        s.mode = Mode::Changes { scroll };
    }
    Vec::new()
}

/// A key in a scrolled overlay (the changes, the messages): movement scrolls it within
/// `max`, Esc (or `q`, or `D`) closes it (`None`), anything else is ignored so that nothing
/// acts behind it.
fn overlay_key(s: &State, scroll: usize, page: usize, max: usize, key: &KeyEvent) -> Option<usize> {
    let action = s.keymap.lookup(s.pane, key);
    let scroll = match (action, key.code) {
        (Some(Action::Back | Action::Quit | Action::ShowChanges), _) | (_, KeyCode::Esc) => {
            return None;
        }
        (Some(Action::Up), _) => scroll.saturating_sub(1),
        (Some(Action::Down), _) => scroll + 1,
        (Some(Action::PageUp), _) => scroll.saturating_sub(page),
        (Some(Action::PageDown), _) => scroll + page,
        (Some(Action::Top), _) => 0,
        (Some(Action::Bottom), _) => max,
        _ => scroll,
    };
    Some(scroll.min(max))
}

pub(super) fn clear_filter(s: &mut State) -> Vec<Cmd> {
    if s.filters.remove(&s.pane).is_some_and(|f| !f.is_empty()) {
        s.send_pane(s.pane, PaneMsg::Filter(String::new()))
    } else {
        Vec::new()
    }
}
