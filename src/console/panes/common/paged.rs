//! A server-paged list: the pane holds at most [`MAX_PAGES`] pages of rows and remembers the
//! cursor of every page it saw, so it can walk back up after dropping the top. Every list of
//! the console that comes from the server pages through this.

use crate::client::{ApprovalRequest, AuditEvent, Group, Member, Page, PageReq, ScimToken};
use crate::console::keymap::Action;
use crate::console::widgets::list::ListWindow;
use ratatui::layout::Rect;

/// Rows per server page (the admin API's largest).
pub const PAGE: usize = 200;
/// Pages held at once; older ones are dropped and fetched again when scrolled back to.
pub const MAX_PAGES: usize = 3;
/// Rows from the edge of what is loaded at which the next page is fetched.
const PREFETCH: usize = 40;

/// A server-paged list: a window of at most [`MAX_PAGES`] pages, and the cursor of each page
/// seen so far (page `k` starts at row `k * PAGE`).
#[derive(Debug, Clone)]
pub struct Paged<T> {
    /// The loaded rows; `rows[0]` is row `base` of the whole list.
    pub rows: Vec<T>,
    pub base: usize,
    pub total: u64,
    /// Selection and scroll, relative to `rows`.
    pub win: ListWindow,
    /// `cursors[k]` fetches page `k`; `None` for page 0 or when not known yet.
    cursors: Vec<Option<String>>,
    pub loaded: bool,
    pub fetching: Option<usize>,
    /// Where a movement past the loaded rows wants to land once the page arrives.
    goal: Option<usize>,
    /// The row to select when it is next loaded (a group just saved, say), by key.
    pub prefer: Option<String>,
}

impl<T> Default for Paged<T> {
    fn default() -> Self {
        Paged {
            rows: Vec::new(),
            base: 0,
            total: 0,
            win: ListWindow::default(),
            cursors: vec![None],
            loaded: false,
            fetching: None,
            goal: None,
            prefer: None,
        }
    }
}

/// What a list row is known by from one refresh to the next.
pub trait Keyed {
    fn key(&self) -> &str;
}

impl Keyed for Member {
    fn key(&self) -> &str {
        &self.id
    }
}

impl Keyed for ApprovalRequest {
    fn key(&self) -> &str {
        &self.id
    }
}

impl Keyed for Group {
    fn key(&self) -> &str {
        &self.id
    }
}

impl Keyed for AuditEvent {
    fn key(&self) -> &str {
        &self.id
    }
}

impl Keyed for ScimToken {
    fn key(&self) -> &str {
        &self.id
    }
}

impl<T: Keyed> Paged<T> {
    /// A list holding `items` as its one page, as if the server had answered with them.
    pub fn of(items: Vec<T>) -> Paged<T> {
        let mut p = Paged::default();
        let total = items.len() as u64;
        p.land(
            0,
            Page {
                items,
                total,
                next: None,
            },
        );
        p
    }

    /// The absolute index of the selected row.
    pub fn selected(&self) -> usize {
        self.base + self.win.selected
    }

    pub fn current(&self) -> Option<&T> {
        self.rows.get(self.win.selected)
    }

    fn end(&self) -> usize {
        self.base + self.rows.len()
    }

    fn first_page(&self) -> usize {
        self.base / PAGE
    }

    fn pages_held(&self) -> usize {
        self.rows.len().div_ceil(PAGE)
    }

    /// The page after the loaded rows, when the server said there is one.
    fn next_page(&self) -> Option<usize> {
        if self.rows.is_empty() || !self.rows.len().is_multiple_of(PAGE) {
            return None;
        }
        let k = self.end() / PAGE;
        matches!(self.cursors.get(k), Some(Some(_))).then_some(k)
    }

    fn page_req(&self, k: usize) -> Option<PageReq> {
        if k == 0 {
            return Some(PageReq::first(PAGE as u32));
        }
        let c = self.cursors.get(k)?.clone()?;
        Some(PageReq {
            limit: Some(PAGE as u32),
            cursor: Some(c),
        })
    }

    /// The request for page `k`, unless it is already on its way.
    pub fn want(&mut self, k: usize) -> Option<PageReq> {
        if self.fetching == Some(k) {
            return None;
        }
        let req = self.page_req(k)?;
        self.fetching = Some(k);
        Some(req)
    }

    /// Which page a request's cursor asked for.
    pub fn page_of(&self, req: &PageReq) -> Option<usize> {
        match req.cursor.as_deref() {
            None => Some(0),
            Some(c) => self.cursors.iter().position(|x| x.as_deref() == Some(c)),
        }
    }

    /// The page to fetch now, if any: the one a pending goal needs, or the neighbour the
    /// selection is getting close to.
    pub fn follow(&mut self) -> Option<PageReq> {
        if !self.loaded {
            return None;
        }
        let sel = self.selected();
        if let Some(g) = self.goal {
            if g >= self.end() {
                if let Some(k) = self.next_page() {
                    return self.want(k);
                }
                self.goal = None;
            } else if g < self.base {
                return self.want(self.first_page() - 1);
            } else {
                self.goal = None;
            }
        }
        if sel + PREFETCH >= self.end()
            && let Some(k) = self.next_page()
        {
            return self.want(k);
        }
        if self.base > 0 && sel < self.base + PREFETCH {
            return self.want(self.first_page() - 1);
        }
        None
    }

    /// Moves the selection by a list action, `page` rows being on screen; false when the
    /// action is not a movement.
    pub fn step(&mut self, action: Action, page: usize) -> bool {
        match crate::console::widgets::list::target(action, self.selected(), page) {
            Some(t) => {
                let last = (self.total as usize).max(self.end()).saturating_sub(1);
                self.move_to(t.min(last), page);
                true
            }
            None => false,
        }
    }

    /// A click on screen row `row` of the bordered table drawn in `list`: selects the row
    /// shown there; false when the click is on no row.
    pub fn click(&mut self, list: Rect, row: u16) -> bool {
        let top = list.y + 2;
        let body = list.height.saturating_sub(3) as usize;
        if row < top || row >= list.y + list.height.saturating_sub(1) {
            return false;
        }
        let first = self.win.visible(self.rows.len(), body).start;
        let i = first + (row - top) as usize;
        if i >= self.rows.len() {
            return false;
        }
        self.move_to(self.base + i, body);
        true
    }

    /// Moves the selection to absolute row `target` (clamped to the list); past the loaded
    /// rows it stops at their edge and remembers the goal for when the page lands.
    pub fn move_to(&mut self, target: usize, page_rows: usize) {
        self.win.height = page_rows.max(1);
        let total = (self.total as usize).max(self.end());
        let target = target.min(total.saturating_sub(1));
        if self.rows.is_empty() {
            return;
        }
        self.goal = (target >= self.end() || target < self.base).then_some(target);
        let rel = target.clamp(self.base, self.end() - 1) - self.base;
        self.win.select(rel, self.rows.len());
    }

    /// A page arrived for page index `k`.
    pub fn land(&mut self, k: usize, page: Page<T>) {
        if self.fetching == Some(k) {
            self.fetching = None;
        }
        self.total = page.total;
        if self.cursors.len() < k + 2 {
            self.cursors.resize(k + 2, None);
        }
        self.cursors[k + 1] = page.next;
        let mut sel = self.selected();
        let mut top = self.base + self.win.offset;
        let first = self.first_page();
        if self.loaded && !self.rows.is_empty() && Some(k) == self.next_page() {
            self.rows.extend(page.items);
            if self.pages_held() > MAX_PAGES {
                self.rows.drain(..PAGE);
                self.base += PAGE;
            }
        } else if self.loaded && !self.rows.is_empty() && k + 1 == first {
            let mut rows = page.items;
            rows.append(&mut self.rows);
            self.rows = rows;
            self.base -= PAGE;
            if self.pages_held() > MAX_PAGES {
                self.rows.truncate(MAX_PAGES * PAGE);
            }
        } else {
            // A first load, a refresh of a held page, or a jump: the window restarts here.
            // On a refresh the selection follows its row, not its index: rows that came or
            // went before it (another admin's removal, an IdP push, a decided request) must
            // not move it onto someone else.
            let kept = match (self.prefer.take(), self.goal) {
                (Some(key), _) => Some(key),
                (None, None) => self.current().map(|r| r.key().to_string()),
                (None, Some(_)) => None,
            };
            self.rows = page.items;
            self.base = k * PAGE;
            if let Some(j) = kept.and_then(|key| self.rows.iter().position(|r| r.key() == key)) {
                let moved = self.base + j;
                top = (top + moved).saturating_sub(sel);
                sel = moved;
            }
        }
        self.loaded = true;
        let target = self.goal.unwrap_or(sel);
        if target < self.end() && target >= self.base {
            self.goal = None;
        }
        let len = self.rows.len();
        if len == 0 {
            self.win.select(0, 0);
            return;
        }
        let rel = target.clamp(self.base, self.end() - 1) - self.base;
        self.win.offset = top.saturating_sub(self.base).min(len - 1);
        self.win.select(rel, len);
    }

    /// Refetch the page holding the selection (Ctrl-r, a poll).
    pub fn reload(&mut self) -> Option<PageReq> {
        let k = if self.rows.is_empty() {
            0
        } else {
            self.selected() / PAGE
        };
        self.fetching = None;
        self.want(k)
    }

    /// Fetch the first page again, keeping what is shown until it lands (after a save, the
    /// list starts over where `prefer` can find the saved row).
    pub fn restart(&mut self) -> Option<PageReq> {
        self.fetching = None;
        self.want(0)
    }

    pub fn reset(&mut self) {
        *self = Paged::default();
    }
}
