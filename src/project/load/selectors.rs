//! `selectors.yml`, read and rendered (var(), env_var(), target) for the selector parser.

use super::{Loader, read};
use crate::error::Diagnostic;
use crate::project::render::render_yaml_strings_with;
use crate::project::yaml;
use serde_json::Value;
use std::path::PathBuf;

/// Removes one trailing newline from every string in `v` without Jinja in it, as rendering it
/// through Jinja would (strings with Jinja lose it when they are rendered).
fn drop_trailing_newlines(v: &mut Value) {
    match v {
        Value::String(s) if s.ends_with('\n') && !s.contains("{{") && !s.contains("{%") => {
            s.pop();
        }
        Value::Array(items) => items.iter_mut().for_each(drop_trailing_newlines),
        Value::Object(o) => o.values_mut().for_each(drop_trailing_newlines),
        _ => {}
    }
}

impl Loader {
    pub(super) fn load_selectors(&mut self) -> Option<(PathBuf, String, Value)> {
        let path = self.dir.join("selectors.yml");
        if !path.is_file() {
            return None;
        }
        let text = match read(&path) {
            Ok(t) => t,
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        let shown = PathBuf::from("selectors.yml");
        // dbt renders selectors.yml with var(), env_var() and target.
        let parsed = yaml::to_json(&shown, &text).and_then(|mut v| {
            // dbt renders every string of selectors.yml through Jinja, which drops one trailing
            // newline (a `description: >` block's); kiln renders only those with Jinja in them.
            drop_trailing_newlines(&mut v);
            if !text.contains("{{") {
                return Ok(v);
            }
            render_yaml_strings_with(&v, &self.vars, Some(&self.target_fields), &[]).map_err(|f| {
                let d = Diagnostic::error("yaml", f.message.clone()).with_help(
                    f.hint.clone().unwrap_or_else(|| {
                        "selectors.yml may use var(), env_var() and target".into()
                    }),
                );
                match f.location(&shown, &text) {
                    Some(at) => d.at(at),
                    None => d.in_file(&shown),
                }
            })
        });
        match parsed {
            Ok(v) => Some((shown, text, v)),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }
}
