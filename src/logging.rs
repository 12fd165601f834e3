//! Process logging: the `[log]` filter, the OPC UA library's own chatter kept out of it,
//! and colour only where a person reads the output.
//!
//! The async-opcua client logs every expected event of a session at ERROR or WARN (a publish
//! sent before the subscription exists, each refused reconnect, a server restart). MS5's OPC
//! UA source reports the same changes itself, one line each (`ms5::plc::opcua`), so the
//! library's client target is off unless the configured filter names it.

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// The async-opcua client's log target (module paths `opcua_client::…`).
const OPCUA_CLIENT: &str = "opcua_client";

/// Starts logging as configured. Safe to call more than once (later calls do nothing).
pub fn init_logging(config: &Config) {
    let log = &config.settings.log;
    let filter = EnvFilter::try_new(directives(&log.level));
    let invalid = filter.as_ref().err().map(ToString::to_string);
    let filter = filter.unwrap_or_else(|_| EnvFilter::new(directives("info")));
    let no_color = std::env::var_os("NO_COLOR");
    let ansi = use_color(log.format, std::io::stdout().is_terminal(), no_color.as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi);
    let _ = match log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if let Some(error) = invalid {
        tracing::warn!(level = %log.level, %error, "[log] level is not a valid filter; logging at info");
    }
}

/// The tracing filter for a `[log] level`: as written, plus `opcua_client=off` unless the
/// level names that target itself (`info,opcua_client=warn` shows the library's warnings).
pub fn directives(level: &str) -> String {
    let names_client = level.split(',').any(|directive| {
        let target = directive.split(['=', '[']).next().unwrap_or_default().trim();
        target.starts_with(OPCUA_CLIENT)
    });
    if names_client {
        level.to_owned()
    } else if level.trim().is_empty() {
        format!("{OPCUA_CLIENT}=off")
    } else {
        format!("{level},{OPCUA_CLIENT}=off")
    }
}

/// Colour (ANSI escapes) only for text on a terminal, and not when `NO_COLOR` is set to
/// anything but the empty string (<https://no-color.org>). JSON is never coloured.
pub fn use_color(format: LogFormat, terminal: bool, no_color: Option<&OsStr>) -> bool {
    format == LogFormat::Text && terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opcua_client_is_off_unless_the_level_names_it() {
        for (level, filter) in [
            ("info", "info,opcua_client=off"),
            ("debug", "debug,opcua_client=off"),
            ("info,ms5=debug", "info,ms5=debug,opcua_client=off"),
            ("", "opcua_client=off"),
            // named: the setting wins as written
            ("info,opcua_client=warn", "info,opcua_client=warn"),
            ("warn,opcua_client::session=debug", "warn,opcua_client::session=debug"),
            ("opcua_client[connect]=trace", "opcua_client[connect]=trace"),
            // other OPC UA targets do not count as naming the client
            ("info,opcua_server=warn", "info,opcua_server=warn,opcua_client=off"),
            (
                "info,ms5::plc::opcua=debug",
                "info,ms5::plc::opcua=debug,opcua_client=off",
            ),
        ] {
            assert_eq!(directives(level), filter, "{level:?}");
            assert!(EnvFilter::try_new(directives(level)).is_ok(), "{level:?}");
        }
    }

    #[test]
    fn colour_only_for_text_on_a_terminal_without_no_color() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        for (format, terminal, no_color, colour) in [
            (LogFormat::Text, true, None, true),
            (LogFormat::Text, true, empty, true),
            (LogFormat::Text, true, set, false),
            (LogFormat::Text, false, None, false),
            (LogFormat::Json, true, None, false),
            (LogFormat::Json, false, None, false),
        ] {
            assert_eq!(
                use_color(format, terminal, no_color),
                colour,
                "{format:?} terminal={terminal} NO_COLOR={no_color:?}"
            );
        }
    }
}
