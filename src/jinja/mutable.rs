//! Python's mutable lists and dicts, which dbt's Jinja (Jinja2 on Python objects) has and
//! minijinja's values do not: `{% do cols.append(c) %}`, `{% do d.update({k: v}) %}`, changing the
//! object in place so every later read of it (through any name) sees the change. dbt packages
//! rely on it everywhere (dbt_utils' `star`, `union_relations`, `generate_surrogate_key`...).
//!
//! minijinja builds `[...]` and `{...}` literals as immutable values, so each template's source
//! is rewritten before it is compiled ([`rewrite_literals`]): every list or dict literal `L`
//! becomes `__kiln_mutable(L)`, a call that copies the literal's items into a [`MutableList`]
//! or [`MutableDict`] (a new object each time the literal is evaluated, as in Python). Those
//! objects behave as a list or dict for everything else (iteration, `length`, indexing, `in`,
//! filters, `tojson`, `==`) and answer the mutating methods. The literals are found in the
//! template's syntax tree, never by searching the text; the rewrite adds no line, so error
//! lines stay those of the file.

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value, ValueKind, from_args};
use minijinja::{Error, ErrorKind, State};
use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};

/// The name of the function the rewritten literals call.
pub const MUTABLE_FN: &str = "__kiln_mutable";

/// `__kiln_mutable(value)`: a list or dict literal's value as a mutable object; anything else
/// unchanged.
pub fn mutable(value: Value) -> Value {
    match value.kind() {
        ValueKind::Seq if value.downcast_object_ref::<MutableList>().is_none() => {
            let items: Vec<Value> = value.try_iter().map(|i| i.collect()).unwrap_or_default();
            MutableList::value(items)
        }
        ValueKind::Map if value.downcast_object_ref::<MutableDict>().is_none() => {
            let mut map = IndexMap::new();
            if let Ok(keys) = value.try_iter() {
                for k in keys {
                    let v = value.get_item(&k).unwrap_or_default();
                    map.insert(k, v);
                }
            }
            MutableDict::value(map)
        }
        _ => value,
    }
}

/// `value` with every plain list and dict in it, at any depth, mutable (data read from YAML or
/// JSON, which dbt's Jinja sees as Python lists and dicts).
pub fn deep(value: Value) -> Value {
    match value.kind() {
        // Objects that are not enumerable (a relation) stay what they are.
        ValueKind::Seq | ValueKind::Map if value.try_iter().is_ok() => {}
        _ => return value,
    }
    match value.kind() {
        ValueKind::Seq => {
            let items: Vec<Value> = value
                .try_iter()
                .map(|i| i.map(deep).collect())
                .unwrap_or_default();
            MutableList::value(items)
        }
        _ => {
            let mut map = IndexMap::new();
            if let Ok(keys) = value.try_iter() {
                for k in keys {
                    let v = value.get_item(&k).unwrap_or_default();
                    map.insert(k, deep(v));
                }
            }
            MutableDict::value(map)
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn no_args(method: &str, args: &[Value]) -> Result<(), Error> {
    from_args::<()>(args).map_err(|_| {
        Error::new(
            ErrorKind::TooManyArguments,
            format!("{method}() takes no arguments"),
        )
    })
}

/// A Python list: the value of a `[...]` literal.
#[derive(Debug, Default)]
pub struct MutableList(Mutex<Vec<Value>>);

impl MutableList {
    pub fn value(items: Vec<Value>) -> Value {
        Value::from_object(MutableList(Mutex::new(items)))
    }

    fn snapshot(&self) -> Vec<Value> {
        lock(&self.0).clone()
    }
}

/// A Python index (negative counts from the end) into a list of `len` items.
fn index(i: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { i + len } else { i };
    (0..len)
        .contains(&i)
        .then(|| usize::try_from(i).ok())
        .flatten()
}

/// The read side of a sequence object over `Mutex<Vec<Value>>` (a list, a set): its `repr`,
/// Python indexing (negative from the end), and iteration over a copy, so a loop goes over the
/// items it had when the loop started even if the body changes it.
macro_rules! sequence_reads {
    () => {
        fn repr(self: &Arc<Self>) -> ObjectRepr {
            ObjectRepr::Seq
        }

        fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
            let items = lock(&self.0);
            let i = index(i64::try_from(key.clone()).ok()?, items.len())?;
            items.get(i).cloned()
        }

        fn enumerate(self: &Arc<Self>) -> Enumerator {
            Enumerator::Values(self.snapshot())
        }

        fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
            Some(lock(&self.0).len())
        }
    };
}

impl Object for MutableList {
    sequence_reads!();

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "append" => {
                let (x,): (Value,) = from_args(args)?;
                lock(&self.0).push(x);
                Ok(Value::from(()))
            }
            "extend" => {
                let (other,): (Value,) = from_args(args)?;
                let new: Vec<Value> = other.try_iter()?.collect();
                lock(&self.0).extend(new);
                Ok(Value::from(()))
            }
            "insert" => {
                let (at, x): (i64, Value) = from_args(args)?;
                let mut items = lock(&self.0);
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                // Python clamps the position into the list.
                let at = if at < 0 {
                    (at + len).max(0)
                } else {
                    at.min(len)
                };
                items.insert(usize::try_from(at).unwrap_or(0), x);
                Ok(Value::from(()))
            }
            "pop" => {
                let (at,): (Option<i64>,) = from_args(args)?;
                let mut items = lock(&self.0);
                if items.is_empty() {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "pop from empty list",
                    ));
                }
                let i = index(at.unwrap_or(-1), items.len()).ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "pop index out of range")
                })?;
                Ok(items.remove(i))
            }
            "remove" => {
                let (x,): (Value,) = from_args(args)?;
                let mut items = lock(&self.0);
                let i = items.iter().position(|v| *v == x).ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("list.remove(x): {x} is not in the list"),
                    )
                })?;
                items.remove(i);
                Ok(Value::from(()))
            }
            "index" => {
                let (x,): (Value,) = from_args(args)?;
                let items = lock(&self.0);
                items
                    .iter()
                    .position(|v| *v == x)
                    .map(Value::from)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("{x} is not in the list"),
                        )
                    })
            }
            "count" => {
                let (x,): (Value,) = from_args(args)?;
                Ok(Value::from(
                    lock(&self.0).iter().filter(|v| **v == x).count(),
                ))
            }
            "reverse" => {
                no_args(method, args)?;
                lock(&self.0).reverse();
                Ok(Value::from(()))
            }
            "sort" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let reverse: Option<bool> = kwargs.get("reverse")?;
                kwargs.assert_all_used()?;
                let mut items = lock(&self.0);
                items.sort();
                if reverse == Some(true) {
                    items.reverse();
                }
                Ok(Value::from(()))
            }
            "clear" => {
                no_args(method, args)?;
                lock(&self.0).clear();
                Ok(Value::from(()))
            }
            "copy" => {
                no_args(method, args)?;
                Ok(MutableList::value(self.snapshot()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// A Python dict: the value of a `{...}` literal, its keys in insertion order.
#[derive(Debug, Default)]
pub struct MutableDict(Mutex<IndexMap<Value, Value>>);

impl MutableDict {
    pub fn value(map: IndexMap<Value, Value>) -> Value {
        Value::from_object(MutableDict(Mutex::new(map)))
    }
}

/// The key/value pairs of a mapping value (a dict, any map-like object).
fn pairs(value: &Value) -> Result<Vec<(Value, Value)>, Error> {
    if value.kind() != ValueKind::Map {
        // Python's update also takes an iterable of pairs.
        let mut out = vec![];
        for item in value.try_iter()? {
            let (k, v) = (item.get_item_by_index(0)?, item.get_item_by_index(1)?);
            out.push((k, v));
        }
        return Ok(out);
    }
    let mut out = vec![];
    for k in value.try_iter()? {
        let v = value.get_item(&k)?;
        out.push((k, v));
    }
    Ok(out)
}

impl Object for MutableDict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        lock(&self.0).get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.0).keys().cloned().collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.0).len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "update" => {
                let (other, kwargs): (Option<Value>, Kwargs) = from_args(args)?;
                let mut new = match other {
                    Some(o) => pairs(&o)?,
                    None => vec![],
                };
                for k in kwargs.args() {
                    new.push((Value::from(k), kwargs.peek::<Value>(k)?));
                }
                let mut map = lock(&self.0);
                for (k, v) in new {
                    map.insert(k, v);
                }
                Ok(Value::from(()))
            }
            "pop" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                match lock(&self.0).shift_remove(&key) {
                    Some(v) => Ok(v),
                    None => default.ok_or_else(|| {
                        Error::new(ErrorKind::InvalidOperation, format!("KeyError: {key}"))
                    }),
                }
            }
            "setdefault" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                let mut map = lock(&self.0);
                Ok(map
                    .entry(key)
                    .or_insert_with(|| default.unwrap_or_else(|| Value::from(())))
                    .clone())
            }
            "clear" => {
                no_args(method, args)?;
                lock(&self.0).clear();
                Ok(Value::from(()))
            }
            "copy" => {
                no_args(method, args)?;
                Ok(MutableDict::value(lock(&self.0).clone()))
            }
            // get, items, keys, values: minijinja-contrib's Python methods, which read any map.
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// `source` with every list and dict literal wrapped in `__kiln_mutable(...)`; unchanged when
/// it has none or does not parse (the compile that follows reports the syntax error).
pub fn rewrite_literals(source: &str) -> Cow<'_, str> {
    if !source.contains('[') && !source.contains('{') {
        return Cow::Borrowed(source);
    }
    let Ok(tree) = minijinja::machinery::parse(source, "<template>", Default::default()) else {
        return Cow::Borrowed(source);
    };
    let mut found = Literals::default();
    super::ast_walk::stmt(&mut found, &tree);
    if found.0.is_empty() {
        return Cow::Borrowed(source);
    }
    // (offset, is_open): at one offset a literal's end comes before the next one's start.
    let mut marks: Vec<(usize, bool)> = Vec::with_capacity(found.0.len() * 2);
    for (start, end) in &found.0 {
        marks.push((*start as usize, true));
        marks.push((*end as usize, false));
    }
    marks.sort_by_key(|(offset, open)| (*offset, *open));
    let mut out = String::with_capacity(source.len() + found.0.len() * (MUTABLE_FN.len() + 2));
    let mut last = 0;
    for (offset, open) in marks {
        let Some(text) = source.get(last..offset) else {
            return Cow::Borrowed(source);
        };
        out.push_str(text);
        if open {
            out.push_str(MUTABLE_FN);
            out.push('(');
        } else {
            out.push(')');
        }
        last = offset;
    }
    out.push_str(&source[last..]);
    Cow::Owned(out)
}

/// The spans (start, end offsets) of the list and dict literals found so far.
#[derive(Default)]
struct Literals(Vec<(u32, u32)>);

impl super::ast_walk::Visitor for Literals {
    fn literal(&mut self, start: u32, end: u32) {
        self.0.push((start, end));
    }
}

/// A Python set: the value of `set(...)`. Its items keep the order they came in (Python's is
/// arbitrary), and two sets are equal when they hold the same items in any order (dbt_utils'
/// `equality` compares two column sets with `!=`).
#[derive(Debug, Default)]
pub struct PySet(Mutex<Vec<Value>>);

impl PySet {
    pub fn value(items: impl IntoIterator<Item = Value>) -> Value {
        let mut out: Vec<Value> = vec![];
        for item in items {
            if !out.contains(&item) {
                out.push(item);
            }
        }
        Value::from_object(PySet(Mutex::new(out)))
    }

    fn snapshot(&self) -> Vec<Value> {
        lock(&self.0).clone()
    }

    fn sorted(&self) -> Vec<Value> {
        let mut items = self.snapshot();
        items.sort();
        items
    }
}

impl Object for PySet {
    sequence_reads!();

    fn custom_cmp(
        self: &Arc<Self>,
        other: &minijinja::value::DynObject,
    ) -> Option<std::cmp::Ordering> {
        let other = other.downcast_ref::<Self>()?;
        Some(self.sorted().cmp(&other.sorted()))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let others = || -> Result<Vec<Value>, Error> {
            let mut all = vec![];
            for other in args {
                all.extend(other.try_iter()?);
            }
            Ok(all)
        };
        let mine = self.snapshot();
        match method {
            "add" => {
                let (x,): (Value,) = from_args(args)?;
                let mut items = lock(&self.0);
                if !items.contains(&x) {
                    items.push(x);
                }
                Ok(Value::from(()))
            }
            "update" => {
                let new = others()?;
                let mut items = lock(&self.0);
                for x in new {
                    if !items.contains(&x) {
                        items.push(x);
                    }
                }
                Ok(Value::from(()))
            }
            "discard" | "remove" => {
                let (x,): (Value,) = from_args(args)?;
                let mut items = lock(&self.0);
                match items.iter().position(|v| *v == x) {
                    Some(i) => {
                        items.remove(i);
                    }
                    None if method == "remove" => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!("set.remove(x): {x} is not in the set"),
                        ));
                    }
                    None => {}
                }
                Ok(Value::from(()))
            }
            "union" => Ok(PySet::value(mine.into_iter().chain(others()?))),
            "intersection" => {
                let o = others()?;
                Ok(PySet::value(mine.into_iter().filter(|x| o.contains(x))))
            }
            "difference" => {
                let o = others()?;
                Ok(PySet::value(mine.into_iter().filter(|x| !o.contains(x))))
            }
            "symmetric_difference" => {
                let o = others()?;
                let left: Vec<Value> = mine.iter().filter(|x| !o.contains(x)).cloned().collect();
                let right: Vec<Value> = o.into_iter().filter(|x| !mine.contains(x)).collect();
                Ok(PySet::value(left.into_iter().chain(right)))
            }
            "issubset" => {
                let o = others()?;
                Ok(Value::from(mine.iter().all(|x| o.contains(x))))
            }
            "issuperset" => {
                let o = others()?;
                Ok(Value::from(o.iter().all(|x| mine.contains(x))))
            }
            "isdisjoint" => {
                let o = others()?;
                Ok(Value::from(!mine.iter().any(|x| o.contains(x))))
            }
            "copy" => {
                no_args(method, args)?;
                Ok(PySet::value(mine))
            }
            "clear" => {
                no_args(method, args)?;
                lock(&self.0).clear();
                Ok(Value::from(()))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("set has no method named {method}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_list_and_dict_literals_only() {
        assert_eq!(
            rewrite_literals("{% set x = [] %}{% set d = {'a': [1]} %}{{ x }}"),
            "{% set x = __kiln_mutable([]) %}{% set d = __kiln_mutable({'a': __kiln_mutable([1])}) %}{{ x }}"
        );
        assert_eq!(rewrite_literals("select 1 -- [x]"), "select 1 -- [x]");
        assert_eq!(
            rewrite_literals("{% for a, b in [(1, 2)] %}{{ a }}{% endfor %}"),
            "{% for a, b in __kiln_mutable([(1, 2)]) %}{{ a }}{% endfor %}"
        );
    }
}
