//! Unpacking the arguments of a method call on a template object.

use minijinja::Error;
use minijinja::value::{ArgType, Kwargs};

/// The keyword argument `name`, or `default` when the call leaves it out.
pub(super) fn kwarg_or<'a, T>(kwargs: &'a Kwargs, name: &'a str, default: T) -> Result<T, Error>
where
    Option<T>: ArgType<'a, Output = Option<T>>,
{
    Ok(kwargs.get::<Option<T>>(name)?.unwrap_or(default))
}
