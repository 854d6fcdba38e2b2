//! The one kind of question the console asks: a [`Confirm`] that starts on Cancel, carrying
//! what a yes does, so that every pane answers it the same way.

use crate::console::keymap::Press;
use crate::console::widgets::Outcome;
use crate::console::widgets::confirm::Confirm;

/// A question on screen, and what confirming it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask<T> {
    pub confirm: Confirm,
    pub then: T,
}

/// What a key did to a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// Still asking (a button moved, or the key meant nothing here).
    Open(Ask<T>),
    Yes(T),
    No,
}

impl<T> Ask<T> {
    pub fn new(confirm: Confirm, then: T) -> Ask<T> {
        Ask { confirm, then }
    }

    pub fn key(mut self, press: Press) -> Answer<T> {
        match self.confirm.handle(press) {
            Outcome::Submitted(()) => Answer::Yes(self.then),
            Outcome::Cancelled => Answer::No,
            _ => Answer::Open(self),
        }
    }
}
