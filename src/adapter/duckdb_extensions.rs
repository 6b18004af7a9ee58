//! DuckDB's loadable extensions: the profile's `extensions:` (dbt-duckdb's two forms: a name, or
//! `{name: ..., repo: ...}`) installed and loaded when the database opens, and what kiln adds
//! when DuckDB cannot install or load one, whether a profile entry at connect or an extension a
//! model's SQL autoloads (`icu` for `timezone()`, `at time zone`, collations): which extension,
//! the URL or file DuckDB tried, and how to provide it without network access to DuckDB's
//! repository (a file in the extension directory, `settings.custom_extension_repository`, or a
//! build whose DuckDB links it).

use serde_json::Value as Json;

/// One entry of a DuckDB target's `extensions:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Extension {
    /// What `install` is given: a name (`icu`) or a file or URL of a `.duckdb_extension`.
    pub source: String,
    /// The repository of `{name, repo}`: a name DuckDB knows (`community`, `core_nightly`) or
    /// a URL or folder.
    pub repo: Option<String>,
}

impl Extension {
    /// The name `load` takes: the source's file name without `.duckdb_extension[.gz]`.
    pub fn name(&self) -> &str {
        let base = self
            .source
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&self.source);
        let base = base.strip_suffix(".gz").unwrap_or(base);
        base.strip_suffix(".duckdb_extension").unwrap_or(base)
    }

    /// `install ...`, as dbt-duckdb sends it (`install <name> from <repo>`).
    pub fn install_sql(&self) -> String {
        let mut sql = format!("install {}", name_or_literal(&self.source));
        if let Some(repo) = &self.repo {
            sql.push_str(" from ");
            sql.push_str(&name_or_literal(repo));
        }
        sql
    }

    pub fn load_sql(&self) -> String {
        format!("load {}", self.name())
    }
}

/// A plain name as written; anything else (a path, a URL) as a string literal. A repository
/// already written as a quoted literal (dbt-duckdb sends `repo` verbatim) is kept.
fn name_or_literal(text: &str) -> String {
    if is_name(text) || (text.len() > 1 && text.starts_with('\'') && text.ends_with('\'')) {
        text.to_string()
    } else {
        super::string_literal(text)
    }
}

fn is_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads `extensions:`: each entry a name (or a file or URL of an extension) or
/// `{name: ..., repo: ...}`, both keys required as in dbt-duckdb. The error says which entry
/// and what is wrong.
pub(super) fn read_extensions(list: &[Json]) -> Result<Vec<Extension>, String> {
    let mut out = vec![];
    for (i, entry) in list.iter().enumerate() {
        let at = format!("extensions[{i}]");
        let ext = match entry {
            Json::String(s) => Extension {
                source: s.trim().to_string(),
                repo: None,
            },
            Json::Object(m) => {
                if let Some(key) = m.keys().find(|k| *k != "name" && *k != "repo") {
                    return Err(format!(
                        "{at} has an unknown key `{key}`: an extension is a name or `{{name: ..., repo: ...}}`"
                    ));
                }
                let field = |key: &str| match m.get(key) {
                    Some(Json::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                    Some(_) => Err(format!("{at}.{key} must be a non-empty string")),
                    None => Err(format!(
                        "{at} has no `{key}`: write `{{name: ..., repo: ...}}` (a repository name such as community, or its URL), or just the extension's name"
                    )),
                };
                Extension {
                    source: field("name")?,
                    repo: Some(field("repo")?),
                }
            }
            other => {
                return Err(format!(
                    "{at} is {other}: an extension is a name (`- icu`) or `{{name: ..., repo: ...}}`"
                ));
            }
        };
        if ext.source.is_empty() {
            return Err(format!("{at} is empty: name the extension (e.g. `- icu`)"));
        }
        if !is_name(ext.name()) {
            return Err(format!(
                "{at} names the extension `{}`, which is not an extension name (letters, digits and _)",
                ext.name()
            ));
        }
        out.push(ext);
    }
    Ok(out)
}

/// What DuckDB reported when it could not install or load an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    /// The extension's name (`icu`).
    pub name: String,
    /// The URL or file DuckDB tried, when it says.
    pub tried: Option<String>,
}

/// Reads a DuckDB error: is it about an extension DuckDB could not install or load (a failed
/// download, a missing file, autoinstall turned off, a file for another DuckDB version)?
pub(super) fn failure(message: &str) -> Option<Failure> {
    let quoted_after = |prefix: &str, quote: char| -> Option<String> {
        let rest = &message[message.find(prefix)? + prefix.len()..];
        Some(rest[..rest.find(quote)?].to_string())
    };
    let file_name = |path: &str| {
        let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let base = base.strip_suffix(".gz").unwrap_or(base);
        base.strip_suffix(".duckdb_extension")
            .unwrap_or(base)
            .to_string()
    };
    // A download that failed (no network, HTTP error), from a repository or a URL.
    if let Some(name) = quoted_after("Failed to download extension \"", '"') {
        let tried = quoted_after(&format!("extension \"{name}\" at URL \""), '"');
        return Some(Failure { name, tried });
    }
    if let Some(name) = quoted_after("Failed to install local extension \"", '"') {
        let tried = quoted_after("no access to the file at PATH \"", '"');
        return Some(Failure { name, tried });
    }
    if let Some(name) = quoted_after("Failed to install remote extension \"", '"') {
        let tried = quoted_after(&format!("extension \"{name}\" from url \""), '"');
        return Some(Failure { name, tried });
    }
    // `load` of an extension that is not in the extension directory.
    if let Some(path) = quoted_after("Extension \"", '"')
        && (message.contains("\" not found") || message.contains("could not be loaded"))
    {
        return Some(Failure {
            name: file_name(&path),
            tried: Some(path),
        });
    }
    // The autoloader's wrapper around any of the above, or a file for another DuckDB.
    for prefix in [
        "install the required extension '",
        "Failed to load '",
        "Failed to install '",
    ] {
        if let Some(name) = quoted_after(prefix, '\'') {
            return Some(Failure { name, tried: None });
        }
    }
    // Autoinstall or autoload turned off: DuckDB's hint names the extension.
    for prefix in [
        "Please try installing and loading the ",
        "Please try installing the ",
    ] {
        if let Some(name) = quoted_after(prefix, ' ') {
            return Some(Failure { name, tried: None });
        }
    }
    None
}

/// Where this DuckDB looks for extensions, read once when the database opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Place {
    /// `v1.5.5`.
    pub version: String,
    /// `linux_amd64`.
    pub platform: String,
    /// The extension directory (the `extension_directory` setting, else DuckDB's default).
    pub directory: String,
}

impl Place {
    /// Reads the version, platform and extension directory from an open database.
    pub fn read(conn: &::duckdb::Connection) -> Option<Place> {
        let (version, platform, directory) = conn
            .query_row(
                "select (select library_version from pragma_version()), (select platform from pragma_platform()), current_setting('extension_directory')",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                },
            )
            .ok()?;
        let directory = match directory.filter(|d| !d.is_empty()) {
            Some(d) => d,
            None => std::env::var("HOME").map_or_else(
                |_| "~/.duckdb/extensions".to_string(),
                |home| format!("{}/.duckdb/extensions", home.trim_end_matches('/')),
            ),
        };
        Some(Place {
            version,
            platform,
            directory,
        })
    }

    /// Whether the extension `name` is installed here (its file is in the extension
    /// directory, under this version and platform).
    pub fn has_installed(&self, name: &str) -> bool {
        std::path::Path::new(&self.directory)
            .join(&self.version)
            .join(&self.platform)
            .join(format!("{name}.duckdb_extension"))
            .is_file()
    }
}

/// What to do about a failure: one paragraph appended to DuckDB's message.
pub(super) fn hint(failure: &Failure, place: Option<&Place>) -> String {
    let name = &failure.name;
    let tried = failure
        .tried
        .as_deref()
        .map_or_else(String::new, |t| format!(" (tried {})", hide_credentials(t)));
    let Some(place) = place else {
        return format!(
            "kiln: DuckDB could not install or load its extension '{name}'{tried}. Put the file in DuckDB's extension directory, or set `custom_extension_repository` under the target's `settings:` in profiles.yml to a URL or folder that serves it."
        );
    };
    let Place {
        version,
        platform,
        directory,
    } = place;
    let folder = format!("{}/{version}/{platform}/", directory.trim_end_matches('/'));
    let wheel = if name == "icu" {
        format!(
            " (PyPI's duckdb-extension-icu=={} holds it: `pip download --no-deps duckdb-extension-icu=={}`, then unzip the wheel)",
            version.trim_start_matches('v'),
            version.trim_start_matches('v')
        )
    } else {
        String::new()
    };
    format!(
        "kiln: DuckDB {version} ({platform}) could not install or load its extension '{name}'{tried}, and this build does not link it. Without access to extensions.duckdb.org, do one of:\n  - put {name}.duckdb_extension for DuckDB {version} on {platform}{wheel} in {folder}\n  - set `custom_extension_repository` under the target's `settings:` in profiles.yml to a URL or folder serving {version}/{platform}/{name}.duckdb_extension (or .gz)\n  - use a kiln build whose DuckDB links it (`--no-default-features` with DuckDB's prebuilt library, bench/lib.sh)"
    )
}

/// A URL's `user:password@` replaced by `***@`: a repository URL may carry credentials.
pub(super) fn hide_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let host_end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        match tail[..host_end].rfind('@') {
            Some(i) => {
                out.push_str("***");
                out.push_str(&tail[i..host_end]);
            }
            None => out.push_str(&tail[..host_end]),
        }
        rest = &tail[host_end..];
    }
    out.push_str(rest);
    out
}

/// DuckDB's message with the hint appended when it is about an extension it could not install
/// or load; otherwise the message as it was. Credentials in URLs are hidden either way.
pub(super) fn explain(message: &str, place: Option<&Place>) -> String {
    let message = hide_credentials(message);
    match failure(&message) {
        Some(f) => format!("{}\n{}", message.trim_end(), hint(&f, place)),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_forms_of_dbt_duckdb_entries_are_read() {
        let read = read_extensions(&[
            json!("icu"),
            json!({"name": "h3", "repo": "community"}),
            json!({"name": "spatial", "repo": "http://127.0.0.1:9/repo"}),
            json!("/opt/ext/icu.duckdb_extension"),
        ])
        .expect("read");
        let sql: Vec<(String, String)> = read
            .iter()
            .map(|e| (e.install_sql(), e.load_sql()))
            .collect();
        assert_eq!(
            sql,
            [
                ("install icu".to_string(), "load icu".to_string()),
                ("install h3 from community".into(), "load h3".into()),
                (
                    "install spatial from 'http://127.0.0.1:9/repo'".into(),
                    "load spatial".into()
                ),
                (
                    "install '/opt/ext/icu.duckdb_extension'".into(),
                    "load icu".into()
                ),
            ]
        );
    }

    #[test]
    fn malformed_entries_say_which_and_what_is_wrong() {
        let err = |v: Json| read_extensions(&[json!("icu"), v]).expect_err("refused");
        assert_eq!(
            err(json!({"name": "h3"})),
            "extensions[1] has no `repo`: write `{name: ..., repo: ...}` (a repository name such as community, or its URL), or just the extension's name"
        );
        assert_eq!(
            err(json!({"name": "h3", "repo": "community", "version": 2})),
            "extensions[1] has an unknown key `version`: an extension is a name or `{name: ..., repo: ...}`"
        );
        assert_eq!(
            err(json!(3)),
            "extensions[1] is 3: an extension is a name (`- icu`) or `{name: ..., repo: ...}`"
        );
        assert_eq!(
            err(json!("icu; drop table x")),
            "extensions[1] names the extension `icu; drop table x`, which is not an extension name (letters, digits and _)"
        );
    }

    #[test]
    fn duckdb_messages_about_extensions_are_recognised() {
        let autoload = "Extension Autoloading Error: An error occurred while trying to automatically install the required extension 'icu':\nFailed to download extension \"icu\" at URL \"http://extensions.duckdb.org/v1.5.5/linux_amd64/icu.duckdb_extension.gz\"\nExtension \"icu\" is an existing extension.\n (ERROR Could not establish connection)";
        assert_eq!(
            failure(autoload),
            Some(Failure {
                name: "icu".into(),
                tried: Some(
                    "http://extensions.duckdb.org/v1.5.5/linux_amd64/icu.duckdb_extension.gz"
                        .into()
                ),
            })
        );
        assert_eq!(
            failure(
                "IO Error: Failed to install local extension \"icu\", no access to the file at PATH \"/repo/v1.5.5/linux_amd64/icu.duckdb_extension\"\n"
            ),
            Some(Failure {
                name: "icu".into(),
                tried: Some("/repo/v1.5.5/linux_amd64/icu.duckdb_extension".into()),
            })
        );
        assert_eq!(
            failure(
                "IO Error: Extension \"/h/.duckdb/extensions/v1.5.5/linux_amd64/icu.duckdb_extension\" not found.\n"
            )
            .map(|f| f.name),
            Some("icu".into())
        );
        assert_eq!(
            failure(
                "Catalog Error: Scalar Function with name timezone does not exist!\n\nPlease try installing and loading the icu extension:\nINSTALL icu;"
            )
            .map(|f| f.name),
            Some("icu".into())
        );
        assert_eq!(
            failure("Catalog Error: Table with name x does not exist!"),
            None
        );
    }

    #[test]
    fn the_hint_names_the_folder_the_repository_setting_and_the_wheel() {
        let place = Place {
            version: "v1.5.5".into(),
            platform: "linux_amd64".into(),
            directory: "/home/ana/.duckdb/extensions".into(),
        };
        let failure = Failure {
            name: "icu".into(),
            tried: Some(
                "http://user:tok@repo.example/v1.5.5/linux_amd64/icu.duckdb_extension.gz".into(),
            ),
        };
        assert_eq!(
            hint(&failure, Some(&place)),
            "kiln: DuckDB v1.5.5 (linux_amd64) could not install or load its extension 'icu' (tried http://***@repo.example/v1.5.5/linux_amd64/icu.duckdb_extension.gz), and this build does not link it. Without access to extensions.duckdb.org, do one of:\n  - put icu.duckdb_extension for DuckDB v1.5.5 on linux_amd64 (PyPI's duckdb-extension-icu==1.5.5 holds it: `pip download --no-deps duckdb-extension-icu==1.5.5`, then unzip the wheel) in /home/ana/.duckdb/extensions/v1.5.5/linux_amd64/\n  - set `custom_extension_repository` under the target's `settings:` in profiles.yml to a URL or folder serving v1.5.5/linux_amd64/icu.duckdb_extension (or .gz)\n  - use a kiln build whose DuckDB links it (`--no-default-features` with DuckDB's prebuilt library, bench/lib.sh)"
        );
    }

    #[test]
    fn credentials_in_urls_are_hidden() {
        assert_eq!(
            hide_credentials("at URL \"https://me:s3cret@host:8/x\" and http://plain/y"),
            "at URL \"https://***@host:8/x\" and http://plain/y"
        );
    }
}
