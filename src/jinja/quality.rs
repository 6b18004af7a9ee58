//! The history kiln keeps for the `kiln` package's checks that compare a run with earlier runs
//! (`kiln.volume_anomaly`, `kiln.schema_change`): one JSON file, by default
//! `<target-path>/kiln_quality_state.json`, or the project's
//! `vars: {kiln: {quality: {state_path: <path>}}}` (relative to the project; put it outside
//! target/ and the clean-targets so `kiln clean` keeps it).
//!
//! Each check's test node keeps a list of observations, one per invocation that ran it in
//! `build` or `test` (a test run twice in one invocation replaces its own observation), the last
//! [`KEEP`] of them. Templates reach it as `kiln_quality_state`, defined only while kiln runs
//! against the warehouse, so under dbt (or when compiling) the checks see it undefined and pass.
//!
//! The arithmetic (median, MAD, the band) is here; the SQL that counts and filters is the
//! package's (`packages/kiln/macros/history.sql`).

use super::args::kwarg_or;
use super::context::RenderCtx;
use minijinja::value::{Kwargs, Object, Value, from_args};
use minijinja::{Error, ErrorKind, State};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Observations kept per check.
pub const KEEP: usize = 100;

/// The history file of one project.
#[derive(Debug)]
pub struct QualityState {
    pub path: PathBuf,
    lock: Mutex<()>,
    /// The nodes this invocation reused (`REUSED`): unchanged since their last build, so a
    /// check over them observes nothing new ([`QualityState::mark_reused`]).
    reused: Mutex<std::collections::BTreeSet<String>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    #[serde(default)]
    checks: BTreeMap<String, Vec<Observation>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Observation {
    invocation_id: String,
    run_started_at: String,
    value: Json,
}

impl QualityState {
    /// The history file of `project`: `vars: {kiln: {quality: {state_path}}}` or
    /// `<target-path>/kiln_quality_state.json`.
    pub fn for_project(project: &crate::project::Project) -> QualityState {
        let configured = project
            .vars
            .get("kiln")
            .and_then(|k| k.get("quality"))
            .and_then(|q| q.get("state_path"))
            .and_then(Json::as_str)
            .map(PathBuf::from);
        let path = match configured {
            Some(p) if p.is_absolute() => p,
            Some(p) => project.dir.join(p),
            None => project.target_dir().join("kiln_quality_state.json"),
        };
        QualityState {
            path,
            lock: Mutex::new(()),
            reused: Mutex::default(),
        }
    }

    /// Tells the history that this invocation reused `unique_id` rather than building it.
    pub fn mark_reused(&self, unique_id: &str) {
        let mut set = self.reused.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(unique_id.to_string());
    }

    /// Whether every one of `nodes` was reused in this invocation (and there is one).
    fn all_reused(&self, nodes: &[String]) -> bool {
        let set = self.reused.lock().unwrap_or_else(|e| e.into_inner());
        !nodes.is_empty() && nodes.iter().all(|n| set.contains(n))
    }

    fn read(&self) -> Result<StateFile, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                format!(
                    "kiln's quality history {} cannot be read: {e}; delete it to start the history again",
                    self.path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateFile::default()),
            Err(e) => Err(format!(
                "kiln's quality history {} cannot be read: {e}",
                self.path.display()
            )),
        }
    }

    fn write(&self, file: &StateFile) -> Result<(), String> {
        let fail = |e: std::io::Error| {
            format!(
                "kiln's quality history {} cannot be written: {e}",
                self.path.display()
            )
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let text = serde_json::to_string_pretty(file).map_err(|e| e.to_string())?;
        // Written beside it and renamed: a crash never leaves half a file.
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)
    }

    /// The observations of `key` made by other invocations, oldest first.
    fn history(&self, key: &str, invocation_id: &str) -> Result<Vec<Json>, String> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let file = self.read()?;
        Ok(file
            .checks
            .get(key)
            .map(|obs| {
                obs.iter()
                    .filter(|o| o.invocation_id != invocation_id)
                    .map(|o| o.value.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Records this invocation's observation of `key` (replacing one it made before).
    fn record(&self, key: &str, obs: Observation) -> Result<(), String> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = self.read()?;
        let list = file.checks.entry(key.to_string()).or_default();
        list.retain(|o| o.invocation_id != obs.invocation_id);
        list.push(obs);
        if list.len() > KEEP {
            let extra = list.len() - KEEP;
            list.drain(..extra);
        }
        self.write(&file)
    }
}

/// `kiln_quality_state` in a template: the history, seen from the test node being rendered.
#[derive(Debug)]
pub(super) struct QualityObj {
    pub ctx: Arc<RenderCtx>,
    pub state: Arc<QualityState>,
}

impl QualityObj {
    fn key(&self) -> Result<String, Error> {
        self.ctx
            .node
            .as_ref()
            .map(|n| n.unique_id.clone())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    "kiln_quality_state is for the kiln package's tests",
                )
            })
    }

    /// Whether this command keeps history: `build` and `test` (not `compile` or `show`).
    fn records(&self) -> bool {
        let which = self
            .ctx
            .shared
            .flags
            .get_attr("WHICH")
            .ok()
            .map(|v| v.to_string())
            .unwrap_or_default();
        matches!(which.as_str(), "build" | "test")
    }

    /// Records this invocation's observation, unless the command keeps no history or what the
    /// check reads was reused (unchanged since its last build) and the history already holds
    /// an observation of it: recording the same rows again would count one state of the table
    /// twice and narrow the band.
    fn save(&self, key: &str, value: Json) -> Result<(), Error> {
        if !self.records() {
            return Ok(());
        }
        let parents = self
            .ctx
            .shared
            .dag
            .as_ref()
            .map(|g| g.depends_on(key).to_vec())
            .unwrap_or_default();
        if self.state.all_reused(&parents) && !self.past(key)?.is_empty() {
            return Ok(());
        }
        let obs = Observation {
            invocation_id: self.ctx.shared.invocation_id.clone(),
            run_started_at: self.ctx.shared.run_started_at.to_string(),
            value,
        };
        self.state
            .record(key, obs)
            .map_err(|m| Error::new(ErrorKind::InvalidOperation, m))
    }

    fn past(&self, key: &str) -> Result<Vec<Json>, Error> {
        self.state
            .history(key, &self.ctx.shared.invocation_id)
            .map_err(|m| Error::new(ErrorKind::InvalidOperation, m))
    }
}

impl Object for QualityObj {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "volume_band" => {
                let (current, kwargs): (Value, Kwargs) = from_args(args)?;
                let opts = BandOptions {
                    k: kwarg_or(&kwargs, "k", 3.0)?,
                    lookback: kwarg_or(&kwargs, "lookback", 28)?,
                    min_history: kwarg_or(&kwargs, "min_history", 3)?,
                    min_band_fraction: kwarg_or(&kwargs, "min_band_fraction", 0.1)?,
                    per_day: kwarg_or(&kwargs, "per_day", false)?,
                };
                kwargs.assert_all_used()?;
                let current = counts_of(&current)?;
                let key = self.key()?;
                let past: Vec<BTreeMap<String, f64>> = self
                    .past(&key)?
                    .iter()
                    .map(|v| {
                        v.as_object()
                            .map(|m| {
                                m.iter()
                                    .filter_map(|(k, v)| v.as_f64().map(|n| (k.clone(), n)))
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect();
                let band = volume_band(&current, &past, &opts);
                self.save(&key, serde_json::to_value(&current).unwrap_or_default())?;
                Ok(super::to_value(band))
            }
            "schema_changes" => {
                let (columns, kwargs): (Value, Kwargs) = from_args(args)?;
                let level = |name: &str, default: &str| -> Result<String, Error> {
                    let v = kwarg_or(&kwargs, name, default.to_string())?.to_lowercase();
                    if matches!(v.as_str(), "warn" | "error" | "ignore") {
                        Ok(v)
                    } else {
                        Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!(
                                "kiln.schema_change: {name} must be warn, error or ignore, not '{v}'"
                            ),
                        ))
                    }
                };
                let levels = [
                    ("added", level("added", "warn")?),
                    ("removed", level("removed", "error")?),
                    ("type_changed", level("type_changed", "error")?),
                ];
                kwargs.assert_all_used()?;
                let now = columns_of(&columns)?;
                let key = self.key()?;
                let before: Option<Vec<(String, String)>> = self
                    .past(&key)?
                    .last()
                    .and_then(|v| serde_json::from_value::<Vec<(String, String)>>(v.clone()).ok());
                let changes = before
                    .map(|b| schema_changes(&b, &now, &levels))
                    .unwrap_or_default();
                self.save(&key, serde_json::to_value(&now).unwrap_or_default())?;
                Ok(super::to_value(changes))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("kiln_quality_state has no method {method}"),
            )),
        }
    }
}

/// A `{period: count}` mapping from the template.
fn counts_of(v: &Value) -> Result<BTreeMap<String, f64>, Error> {
    let json = super::functions::to_json_value(v)?;
    let map = json.as_object().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            "volume_band takes a mapping of period to row count",
        )
    })?;
    Ok(map
        .iter()
        .filter_map(|(k, v)| v.as_f64().map(|n| (k.clone(), n)))
        .collect())
}

/// `[[name, type], ...]` from the template, names lower-cased (engines differ in case).
fn columns_of(v: &Value) -> Result<Vec<(String, String)>, Error> {
    let json = super::functions::to_json_value(v)?;
    let bad = || {
        Error::new(
            ErrorKind::InvalidOperation,
            "schema_changes takes a list of [column name, data type] pairs",
        )
    };
    json.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|pair| {
            let p = pair.as_array().ok_or_else(bad)?;
            let name = p.first().and_then(Json::as_str).ok_or_else(bad)?;
            let ty = p.get(1).and_then(Json::as_str).unwrap_or_default();
            Ok((name.to_lowercase(), ty.to_lowercase()))
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct BandOptions {
    pub k: f64,
    /// How many values (runs, or days per day) the band is made of, most recent first.
    pub lookback: usize,
    /// Fewer values than this: no band, the check passes.
    pub min_history: usize,
    /// The band is at least this fraction of the median wide on each side.
    pub min_band_fraction: f64,
    pub per_day: bool,
}

/// What the volume check compares: the periods to check and the band they must fall in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeBand {
    /// Whether there is enough history for a band; without, the check passes.
    pub ready: bool,
    /// The periods to check (per day: the days no earlier run saw; else `all`).
    pub periods: Vec<String>,
    pub median: f64,
    pub mad: f64,
    pub lower: f64,
    pub upper: f64,
    /// How many values the band was made of.
    pub history: usize,
    /// One line saying what was compared, for the log.
    pub note: String,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The band `median ± max(k·MAD, min_band_fraction·median)` over the history.
///
/// Whole table (`all`): the counts of the last `lookback` earlier runs; until `min_history` runs
/// have been seen the check passes (it is collecting history). Per day: the days no earlier run
/// saw are checked against the counts of the `lookback` most recent days seen before (as earlier
/// runs recorded them); on the first run, with no history, every day of the table is checked
/// against all of its days, so a spike already in the data is found at once.
pub fn volume_band(
    current: &BTreeMap<String, f64>,
    past: &[BTreeMap<String, f64>],
    o: &BandOptions,
) -> VolumeBand {
    let (periods, mut values): (Vec<String>, Vec<f64>) = if o.per_day {
        let mut known: BTreeMap<&String, f64> = BTreeMap::new();
        for run in past {
            for (day, n) in run {
                known.insert(day, *n);
            }
        }
        let new: Vec<String> = current
            .keys()
            .filter(|d| !known.contains_key(d))
            .cloned()
            .collect();
        if known.is_empty() {
            // No history yet: every day of the table makes the band.
            (new, current.values().copied().collect())
        } else {
            let seen: Vec<f64> = known.values().copied().collect();
            let n = seen.len().saturating_sub(o.lookback);
            (new, seen[n..].to_vec())
        }
    } else {
        let runs: Vec<f64> = past.iter().filter_map(|r| r.get("all").copied()).collect();
        let n = runs.len().saturating_sub(o.lookback);
        (vec!["all".to_string()], runs[n..].to_vec())
    };
    let history = values.len();
    let what = if o.per_day { "days" } else { "earlier runs" };
    if history < o.min_history.max(1) {
        return VolumeBand {
            ready: false,
            periods,
            median: 0.0,
            mad: 0.0,
            lower: 0.0,
            upper: 0.0,
            history,
            note: format!(
                "collecting history: {history} of the {} {what} needed, nothing compared yet",
                o.min_history
            ),
        };
    }
    let med = median(&mut values);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&mut deviations);
    let half = (o.k * mad).max(o.min_band_fraction * med);
    let (lower, upper) = ((med - half).max(0.0), med + half);
    VolumeBand {
        ready: true,
        note: format!(
            "{} period(s) compared with the band {lower:.0}..{upper:.0} (median {med:.0}, MAD {mad:.0}, {history} {what})",
            periods.len()
        ),
        periods,
        median: med,
        mad,
        lower,
        upper,
        history,
    }
}

/// One difference between the previous and the current columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaChange {
    pub change: &'static str,
    pub column_name: String,
    pub old_type: Option<String>,
    pub new_type: Option<String>,
    pub level: String,
}

/// Columns added, removed or whose type changed, each at its configured level (`ignore`d ones
/// left out), in column order (removed ones after).
pub fn schema_changes(
    before: &[(String, String)],
    now: &[(String, String)],
    levels: &[(&'static str, String)],
) -> Vec<SchemaChange> {
    let level = |kind: &str| {
        levels
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or_else(|| "error".to_string(), |(_, l)| l.clone())
    };
    let old: BTreeMap<&String, &String> = before.iter().map(|(n, t)| (n, t)).collect();
    let new: BTreeMap<&String, &String> = now.iter().map(|(n, t)| (n, t)).collect();
    let mut out = vec![];
    for (name, ty) in now {
        match old.get(name) {
            None => out.push(SchemaChange {
                change: "added",
                column_name: name.clone(),
                old_type: None,
                new_type: Some(ty.clone()),
                level: level("added"),
            }),
            Some(was) if *was != ty => out.push(SchemaChange {
                change: "type_changed",
                column_name: name.clone(),
                old_type: Some((*was).clone()),
                new_type: Some(ty.clone()),
                level: level("type_changed"),
            }),
            Some(_) => {}
        }
    }
    for (name, ty) in before {
        if !new.contains_key(name) {
            out.push(SchemaChange {
                change: "removed",
                column_name: name.clone(),
                old_type: Some(ty.clone()),
                new_type: None,
                level: level("removed"),
            });
        }
    }
    out.retain(|c| c.level != "ignore");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(per_day: bool) -> BandOptions {
        BandOptions {
            k: 3.0,
            lookback: 10,
            min_history: 3,
            min_band_fraction: 0.1,
            per_day,
        }
    }

    fn counts(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn a_whole_table_band_waits_for_history_then_uses_median_and_mad() {
        let now = counts(&[("all", 1000.0)]);
        let two = vec![counts(&[("all", 100.0)]), counts(&[("all", 110.0)])];
        let b = volume_band(&now, &two, &opts(false));
        assert!(!b.ready);
        assert!(b.note.contains("2 of the 3"), "{}", b.note);
        let mut three = two.clone();
        three.push(counts(&[("all", 90.0)]));
        let b = volume_band(&now, &three, &opts(false));
        assert!(b.ready);
        assert_eq!((b.median, b.mad), (100.0, 10.0));
        assert_eq!((b.lower, b.upper), (70.0, 130.0));
        assert_eq!(b.periods, vec!["all"]);
    }

    #[test]
    fn per_day_checks_only_new_days_and_every_day_on_the_first_run() {
        let days = counts(&[("d1", 100.0), ("d2", 104.0), ("d3", 98.0), ("d4", 1000.0)]);
        let first = volume_band(&days, &[], &opts(true));
        assert!(first.ready);
        assert_eq!(first.periods.len(), 4);
        assert!(first.upper < 1000.0 && first.lower <= 98.0, "{first:?}");
        let mut later = days.clone();
        later.insert("d5".into(), 101.0);
        let b = volume_band(&later, &[days], &opts(true));
        assert_eq!(b.periods, vec!["d5"]);
    }

    #[test]
    fn a_flat_history_still_has_a_band_of_a_tenth_of_the_median() {
        let flat = vec![counts(&[("all", 100.0)]); 5];
        let b = volume_band(&counts(&[("all", 105.0)]), &flat, &opts(false));
        assert_eq!((b.lower, b.upper), (90.0, 110.0));
    }

    #[test]
    fn schema_changes_are_added_removed_and_retyped_at_their_levels() {
        let s = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let before = s(&[("id", "integer"), ("email", "varchar"), ("n", "integer")]);
        let now = s(&[("id", "bigint"), ("n", "integer"), ("extra", "date")]);
        let levels = [
            ("added", "ignore".to_string()),
            ("removed", "error".to_string()),
            ("type_changed", "warn".to_string()),
        ];
        let got = schema_changes(&before, &now, &levels);
        let summary: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|c| (c.change, c.column_name.as_str(), c.level.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("type_changed", "id", "warn"),
                ("removed", "email", "error")
            ]
        );
    }
}
