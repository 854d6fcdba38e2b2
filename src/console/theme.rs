//! Colours. The default uses the 16 ANSI colours on the terminal's own background, so it
//! follows whatever palette the user chose; `NO_COLOR` turns colour off entirely. Meaning is
//! never carried by colour alone: every coloured thing also has a symbol or a word.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub base: Style,
    pub dim: Style,
    pub title: Style,
    pub selected: Style,
    pub key: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub badge: Style,
    pub border: Style,
    pub focus_border: Style,
}

impl Theme {
    pub fn ansi16() -> Theme {
        Theme {
            base: Style::new(),
            dim: Style::new().fg(Color::DarkGray),
            title: Style::new().add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ok: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow),
            error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            badge: Style::new().fg(Color::Black).bg(Color::Yellow),
            border: Style::new().fg(Color::DarkGray),
            focus_border: Style::new().fg(Color::Cyan),
        }
    }

    /// No colour at all; emphasis by bold, reverse and underline only.
    pub fn mono() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            base: Style::new(),
            dim: Style::new(),
            title: bold,
            selected: Style::new().add_modifier(Modifier::REVERSED),
            key: bold,
            ok: Style::new(),
            warn: bold,
            error: bold,
            badge: Style::new().add_modifier(Modifier::REVERSED),
            border: Style::new(),
            focus_border: bold,
        }
    }

    /// `NO_COLOR` set to anything non-empty wins (https://no-color.org).
    pub fn from_env(no_color: Option<&str>) -> Theme {
        match no_color {
            Some(v) if !v.is_empty() => Theme::mono(),
            _ => Theme::ansi16(),
        }
    }
}

impl Theme {
    /// The same choices, in the shape console2's widgets draw with.
    pub fn widget_style(&self) -> crate::console::widgets::WidgetStyle {
        crate::console::widgets::WidgetStyle {
            border: self.focus_border,
            title: self.title,
            text: self.base,
            dim: self.dim,
            cursor: self.selected,
            danger: self.error,
            success: self.ok,
            error: self.error,
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::ansi16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_drops_every_colour() {
        let t = Theme::from_env(Some("1"));
        for s in [
            t.base, t.dim, t.title, t.selected, t.key, t.ok, t.warn, t.error, t.badge,
        ] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        assert_eq!(Theme::from_env(Some("")), Theme::ansi16());
        assert_eq!(Theme::from_env(None), Theme::ansi16());
    }
}
