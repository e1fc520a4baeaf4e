//! Every user intent, with its label and shortcut: the menu, the keyboard and the tests all use
//! this one list. Widgets emit commands; the app applies them in one place at the end of a frame.

use egui::{Key, KeyboardShortcut, Modifiers};

/// Something the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Command {
    /// Choose a file and open it.
    Open,
    /// Write the document to its file.
    Save,
    /// Choose a file and save the document there.
    SaveAs,
    /// Undo the last edit.
    Undo,
    /// Redo the last undone edit.
    Redo,
    /// Delete the selected node.
    Delete,
    /// Expand every container.
    ExpandAll,
    /// Collapse every container but the root.
    CollapseAll,
    /// Select the row above.
    SelectUp,
    /// Select the row below.
    SelectDown,
    /// Expand the selected container (or go to its first child).
    ExpandSelected,
    /// Collapse the selected container (or go to its parent).
    CollapseSelected,
    /// Start editing the selected value.
    EditSelected,
    /// Rename the selected member.
    Rename,
    /// Add a child to the selected object or array.
    AddChild,
    /// Add a sibling after the selected node.
    AddSibling,
    /// Duplicate the selected node.
    Duplicate,
    /// Copy the selected node's JSON Pointer.
    CopyPointer,
    /// Open the search bar.
    Find,
    /// Go to the next match.
    FindNext,
    /// Go to the previous match.
    FindPrevious,
    /// Switch between the tree and the raw JSON text.
    ToggleRaw,
    /// Switch between the dark and the light theme.
    ToggleTheme,
    /// Larger text.
    ZoomIn,
    /// Smaller text.
    ZoomOut,
    /// Show the preferences (display name, theme, text size).
    Preferences,
    /// Join a document on a relay.
    Connect,
    /// Host a relay in this window and invite others to the document.
    Share,
    /// Close the connection and keep editing offline, or connect again.
    ToggleOffline,
    /// Show who is in the document.
    People,
    /// Show my edits that lost to someone else's.
    Conflicts,
    /// Show the document's history.
    History,
    /// Save my changes not yet confirmed by the relay as an RFC 6902 patch file.
    ExportUnsynced,
    /// Apply an RFC 6902 patch file as one change.
    ImportPatch,
}

impl Command {
    /// The menus and their commands, in order: every command is in one.
    pub const MENUS: [(&'static str, &'static [Command]); 5] = [
        (
            "File",
            &[
                Command::Open,
                Command::Save,
                Command::SaveAs,
                Command::Preferences,
            ],
        ),
        (
            "Edit",
            &[
                Command::Undo,
                Command::Redo,
                Command::EditSelected,
                Command::Rename,
                Command::AddChild,
                Command::AddSibling,
                Command::Duplicate,
                Command::Delete,
                Command::CopyPointer,
            ],
        ),
        (
            "View",
            &[
                Command::ToggleRaw,
                Command::Find,
                Command::FindNext,
                Command::FindPrevious,
                Command::ExpandAll,
                Command::CollapseAll,
                Command::ToggleTheme,
                Command::ZoomIn,
                Command::ZoomOut,
            ],
        ),
        (
            "Share",
            &[
                Command::Connect,
                Command::Share,
                Command::ToggleOffline,
                Command::People,
                Command::Conflicts,
                Command::History,
                Command::ExportUnsynced,
                Command::ImportPatch,
            ],
        ),
        (
            "Go",
            &[
                Command::SelectUp,
                Command::SelectDown,
                Command::ExpandSelected,
                Command::CollapseSelected,
            ],
        ),
    ];

    /// Every command, for shortcut handling.
    pub const ALL: [Command; 34] = [
        Command::Open,
        Command::Save,
        Command::SaveAs,
        Command::Undo,
        Command::Redo,
        Command::Delete,
        Command::ExpandAll,
        Command::CollapseAll,
        Command::SelectUp,
        Command::SelectDown,
        Command::ExpandSelected,
        Command::CollapseSelected,
        Command::EditSelected,
        Command::Rename,
        Command::AddChild,
        Command::AddSibling,
        Command::Duplicate,
        Command::CopyPointer,
        Command::Find,
        Command::FindNext,
        Command::FindPrevious,
        Command::ToggleRaw,
        Command::ToggleTheme,
        Command::ZoomIn,
        Command::ZoomOut,
        Command::Preferences,
        Command::Connect,
        Command::Share,
        Command::ToggleOffline,
        Command::People,
        Command::Conflicts,
        Command::History,
        Command::ExportUnsynced,
        Command::ImportPatch,
    ];

    /// What the menu says.
    pub fn label(self) -> &'static str {
        match self {
            Command::Open => "Open…",
            Command::Save => "Save",
            Command::SaveAs => "Save as…",
            Command::Undo => "Undo",
            Command::Redo => "Redo",
            Command::Delete => "Delete",
            Command::ExpandAll => "Expand all",
            Command::CollapseAll => "Collapse all",
            Command::SelectUp => "Select previous",
            Command::SelectDown => "Select next",
            Command::ExpandSelected => "Expand",
            Command::CollapseSelected => "Collapse",
            Command::EditSelected => "Edit value",
            Command::Rename => "Rename key",
            Command::AddChild => "Add child",
            Command::AddSibling => "Add sibling",
            Command::Duplicate => "Duplicate",
            Command::CopyPointer => "Copy JSON Pointer",
            Command::Find => "Find",
            Command::FindNext => "Find next",
            Command::FindPrevious => "Find previous",
            Command::ToggleRaw => "Raw JSON",
            Command::ToggleTheme => "Dark or light theme",
            Command::ZoomIn => "Larger text",
            Command::ZoomOut => "Smaller text",
            Command::Preferences => "Preferences…",
            Command::Connect => "Connect to a relay…",
            Command::Share => "Share this document…",
            Command::ToggleOffline => "Work offline / go online",
            Command::People => "People",
            Command::Conflicts => "Conflicts",
            Command::History => "History",
            Command::ExportUnsynced => "Export unsynced changes…",
            Command::ImportPatch => "Import a patch…",
        }
    }

    /// The keyboard shortcuts that run it (the first is shown in the menu).
    pub fn shortcuts(self) -> Vec<KeyboardShortcut> {
        const fn key(modifiers: Modifiers, key: Key) -> KeyboardShortcut {
            KeyboardShortcut::new(modifiers, key)
        }
        const CMD_SHIFT: Modifiers = Modifiers::COMMAND.plus(Modifiers::SHIFT);
        match self {
            Command::Open => vec![key(Modifiers::COMMAND, Key::O)],
            Command::Save => vec![key(Modifiers::COMMAND, Key::S)],
            Command::SaveAs => vec![key(CMD_SHIFT, Key::S)],
            Command::Undo => vec![key(Modifiers::COMMAND, Key::Z)],
            Command::Redo => vec![key(CMD_SHIFT, Key::Z), key(Modifiers::COMMAND, Key::Y)],
            Command::Delete => vec![key(Modifiers::NONE, Key::Delete)],
            Command::ExpandAll => vec![key(Modifiers::COMMAND, Key::Period)],
            Command::CollapseAll => vec![key(Modifiers::COMMAND, Key::Comma)],
            Command::SelectUp => vec![key(Modifiers::NONE, Key::ArrowUp)],
            Command::SelectDown => vec![key(Modifiers::NONE, Key::ArrowDown)],
            Command::ExpandSelected => vec![key(Modifiers::NONE, Key::ArrowRight)],
            Command::CollapseSelected => vec![key(Modifiers::NONE, Key::ArrowLeft)],
            Command::EditSelected => vec![key(Modifiers::NONE, Key::Enter)],
            Command::Rename => vec![key(Modifiers::NONE, Key::F2)],
            Command::AddChild => vec![key(Modifiers::NONE, Key::Insert)],
            Command::AddSibling => vec![key(Modifiers::COMMAND, Key::Enter)],
            Command::Duplicate => vec![key(Modifiers::COMMAND, Key::D)],
            Command::CopyPointer => vec![key(CMD_SHIFT, Key::C)],
            Command::Find => vec![key(Modifiers::COMMAND, Key::F)],
            Command::FindNext => vec![key(Modifiers::NONE, Key::F3)],
            Command::FindPrevious => vec![key(Modifiers::SHIFT, Key::F3)],
            Command::ToggleRaw => vec![key(Modifiers::COMMAND, Key::R)],
            Command::ToggleTheme => vec![key(CMD_SHIFT, Key::T)],
            Command::ZoomIn => vec![
                key(Modifiers::COMMAND, Key::Plus),
                key(Modifiers::COMMAND, Key::Equals),
            ],
            Command::ZoomOut => vec![key(Modifiers::COMMAND, Key::Minus)],
            Command::Preferences => vec![key(CMD_SHIFT, Key::P)],
            Command::Connect => vec![key(Modifiers::COMMAND, Key::K)],
            Command::Share => vec![key(CMD_SHIFT, Key::I)],
            Command::ToggleOffline => vec![key(CMD_SHIFT, Key::O)],
            Command::People => vec![key(CMD_SHIFT, Key::U)],
            Command::Conflicts => vec![key(CMD_SHIFT, Key::K)],
            Command::History => vec![key(Modifiers::COMMAND, Key::H)],
            Command::ExportUnsynced => vec![key(CMD_SHIFT, Key::E)],
            Command::ImportPatch => vec![key(Modifiers::COMMAND, Key::I)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Command;

    #[test]
    fn every_command_is_in_a_menu_once_and_has_a_shortcut() {
        for command in Command::ALL {
            let menus = Command::MENUS
                .iter()
                .filter(|(_, items)| items.contains(&command))
                .count();
            assert_eq!(menus, 1, "{command:?}");
            assert!(!command.shortcuts().is_empty(), "{command:?}");
        }
        let listed: usize = Command::MENUS.iter().map(|(_, items)| items.len()).sum();
        assert_eq!(listed, Command::ALL.len());
    }
}
