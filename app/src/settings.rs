//! What the editor remembers between runs: theme, font size, recent files, display name, the
//! last connection. Kept small and separate from the document state, in the platform's config
//! directory (owner-only where the platform allows: it can hold a token).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Light or dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Light text on dark.
    #[default]
    Dark,
    /// Dark text on light.
    Light,
}

/// How files are laid out when saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SaveLayout {
    /// As the file was when read: minified stays minified, tabs stay tabs (two spaces for a
    /// new document).
    #[default]
    AsRead,
    /// All on one line.
    Minified,
    /// Indented by two spaces.
    TwoSpaces,
    /// Indented by four spaces.
    FourSpaces,
    /// Indented by tabs.
    Tabs,
}

impl SaveLayout {
    /// Every choice, in the order Preferences lists them.
    pub const ALL: [SaveLayout; 5] = [
        SaveLayout::AsRead,
        SaveLayout::Minified,
        SaveLayout::TwoSpaces,
        SaveLayout::FourSpaces,
        SaveLayout::Tabs,
    ];

    /// The layout it imposes, if any (`None`: the file's own).
    pub fn layout(self) -> Option<sync_core::value::Layout> {
        use sync_core::value::Layout;
        match self {
            SaveLayout::AsRead => None,
            SaveLayout::Minified => Some(Layout::Compact),
            SaveLayout::TwoSpaces => Some(Layout::Spaces(2)),
            SaveLayout::FourSpaces => Some(Layout::Spaces(4)),
            SaveLayout::Tabs => Some(Layout::Tabs),
        }
    }

    /// Its name in Preferences.
    pub fn label(self) -> &'static str {
        match self {
            SaveLayout::AsRead => "as the file was",
            SaveLayout::Minified => "minified",
            SaveLayout::TwoSpaces => "2 spaces",
            SaveLayout::FourSpaces => "4 spaces",
            SaveLayout::Tabs => "tabs",
        }
    }
}

/// The settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The colour theme.
    pub theme: Theme,
    /// The body text size in points.
    pub font_size: f32,
    /// Files opened recently, most recent first.
    pub recent: Vec<PathBuf>,
    /// The name others see when collaborating.
    pub display_name: String,
    /// The relay and document last joined (with its token), to fill the Connect dialog.
    pub last_connection: Option<crate::session::Target>,
    /// How files are laid out when saved.
    pub save_layout: SaveLayout,
    /// Shared documents joined recently (relay and document, with the token), most recent
    /// first, to open again from File → Open recent.
    pub recent_shared: Vec<crate::session::Target>,
    /// An extra certificate authority (PEM) trusted for `wss://` relays, beside the
    /// platform's: for relays with a certificate of their own making. `CONCORD_CA_FILE`
    /// takes precedence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// How many recent files are remembered.
pub const RECENT: usize = 10;

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            theme: Theme::Dark,
            font_size: 14.0,
            recent: Vec::new(),
            display_name: String::new(),
            last_connection: None,
            save_layout: SaveLayout::AsRead,
            recent_shared: Vec::new(),
            ca_file: None,
        }
    }
}

impl Settings {
    /// Where they are kept: `settings.json` in `CONCORD_CONFIG_DIR` if set (the demo gives
    /// each window its own), else in the platform's config directory for Concord.
    pub fn default_path() -> Option<PathBuf> {
        let dir = std::env::var_os("CONCORD_CONFIG_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                directories::ProjectDirs::from("", "", "concord").map(|d| d.config_dir().into())
            })?;
        Some(dir.join("settings.json"))
    }

    /// Reads the settings at `path`; defaults if there are none or they cannot be read (a
    /// damaged settings file must not keep the editor from starting).
    pub fn load(path: &Path) -> Settings {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Writes the settings to `path` (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let temp = path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // The last connection's token is a secret: only the owner may read the file.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(&temp)?, text.as_bytes())?;
        std::fs::rename(&temp, path)
    }

    /// Puts `path` first in the recent files.
    pub fn remember(&mut self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.recent.retain(|p| *p != path);
        self.recent.insert(0, path);
        self.recent.truncate(RECENT);
    }

    /// Puts the shared document `target` first in the recent shared documents (one entry per
    /// relay and document, with the latest token).
    pub fn remember_shared(&mut self, target: &crate::session::Target) {
        self.recent_shared
            .retain(|t| !(t.relay == target.relay && t.doc == target.doc));
        self.recent_shared.insert(0, target.clone());
        self.recent_shared.truncate(RECENT);
    }

    /// The font size, kept within what stays readable and fits.
    pub fn clamped_font_size(&self) -> f32 {
        self.font_size.clamp(8.0, 32.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn settings_round_trip_and_damage_falls_back_to_defaults() {
        let dir = std::env::temp_dir().join(format!("concord-settings-{}", std::process::id()));
        let path = dir.join("nested").join("settings.json");
        assert_eq!(Settings::load(&path), Settings::default());
        let mut settings = Settings {
            theme: Theme::Light,
            font_size: 18.0,
            display_name: "Ann".to_owned(),
            ..Settings::default()
        };
        settings.remember(Path::new("/tmp/a.json"));
        settings.save(&path).unwrap();
        assert_eq!(Settings::load(&path), settings);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the owner reads the settings");
        }
        std::fs::write(&path, "{ not json").unwrap();
        assert_eq!(Settings::load(&path), Settings::default());
        // Unknown or missing members are fine.
        std::fs::write(&path, r#"{"theme": "light", "future": 1}"#).unwrap();
        assert_eq!(Settings::load(&path).theme, Theme::Light);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn recent_shared_documents_are_unique_most_recent_first_and_bounded() {
        let mut settings = Settings::default();
        let target = |doc: &str, token: Option<&str>| crate::session::Target {
            relay: "ws://127.0.0.1:9090".to_owned(),
            doc: doc.to_owned(),
            token: token.map(str::to_owned),
        };
        for i in 0..15 {
            settings.remember_shared(&target(&format!("doc-{i}"), None));
        }
        settings.remember_shared(&target("doc-12", Some("new.token")));
        assert_eq!(settings.recent_shared.len(), RECENT);
        assert_eq!(
            settings.recent_shared[0],
            target("doc-12", Some("new.token"))
        );
        assert_eq!(settings.recent_shared[1].doc, "doc-14");
        let text = serde_json::to_string(&settings).unwrap();
        let back: Settings = serde_json::from_str(&text).unwrap();
        assert_eq!(back, settings);
    }

    #[test]
    fn recent_files_are_unique_most_recent_first_and_bounded() {
        let mut settings = Settings::default();
        for i in 0..15 {
            settings.remember(Path::new(&format!("/nonexistent/{i}.json")));
        }
        settings.remember(Path::new("/nonexistent/12.json"));
        assert_eq!(settings.recent.len(), RECENT);
        assert_eq!(settings.recent[0], PathBuf::from("/nonexistent/12.json"));
        assert_eq!(settings.recent[1], PathBuf::from("/nonexistent/14.json"));
    }
}
