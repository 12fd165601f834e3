//! One SQL text for both backends: queries are written with `?` placeholders and numbered
//! (`$1`, `$2`, …) before they run, which PostgreSQL requires and SQLite accepts.

use std::borrow::Cow;
use std::fmt::Display;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Any, Arguments, AssertSqlSafe, Encode, FromRow, Type};

use super::StoreError;

/// `sql` with each `?` placeholder outside quotes numbered `$1`, `$2`, ….
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '?') => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
                continue;
            }
            (None, _) => {}
        }
        out.push(c);
    }
    out
}

/// A statement (see [`sqlx::query`]) with its placeholders numbered.
pub(crate) fn query(sql: impl Into<Cow<'static, str>>) -> Query<'static, Any, AnyArguments> {
    sqlx::query(AssertSqlSafe(numbered(&sql.into())))
}

/// A statement mapped to rows of `O` (see [`sqlx::query_as`]).
pub(crate) fn query_as<O>(sql: impl Into<Cow<'static, str>>) -> QueryAs<'static, Any, O, AnyArguments>
where
    O: for<'r> FromRow<'r, AnyRow>,
{
    sqlx::query_as(AssertSqlSafe(numbered(&sql.into())))
}

/// A statement whose rows are one value each (see [`sqlx::query_scalar`]).
pub(crate) fn query_scalar<O>(sql: impl Into<Cow<'static, str>>) -> QueryScalar<'static, Any, O, AnyArguments>
where
    (O,): for<'r> FromRow<'r, AnyRow>,
{
    sqlx::query_scalar(AssertSqlSafe(numbered(&sql.into())))
}

/// A statement built piece by piece, values bound as they are pushed (a subset of
/// [`sqlx::QueryBuilder`], which cannot number placeholders for the `Any` driver).
#[derive(Default)]
pub(crate) struct SqlBuilder {
    sql: String,
    args: AnyArguments,
    bind_error: Option<String>,
}

impl SqlBuilder {
    /// A statement starting with `init`.
    pub(crate) fn new(init: impl Display) -> SqlBuilder {
        SqlBuilder {
            sql: init.to_string(),
            ..SqlBuilder::default()
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: impl Display) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.sql, "{sql}");
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn push_bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'t, Any> + Type<Any>,
    {
        if let Err(e) = self.args.add(value) {
            self.bind_error.get_or_insert(e.to_string());
        }
        self.sql.push('?');
        self
    }

    /// A list whose items are separated by `separator`.
    pub(crate) fn separated(&mut self, separator: &'static str) -> Separated<'_> {
        Separated {
            builder: self,
            separator,
            first: true,
        }
    }

    /// Appends `VALUES (…), (…)`, one tuple per item.
    pub(crate) fn push_values<I, F>(&mut self, items: I, mut push_tuple: F) -> &mut Self
    where
        I: IntoIterator,
        F: FnMut(Separated<'_>, I::Item),
    {
        self.push("VALUES ");
        let mut first = true;
        for item in items {
            if !first {
                self.push(", ");
            }
            first = false;
            self.push("(");
            push_tuple(self.separated(", "), item);
            self.push(")");
        }
        self
    }

    /// The statement, ready to run, or why a value could not be bound.
    pub(crate) fn build(&mut self) -> Result<Query<'static, Any, AnyArguments>, StoreError> {
        if let Some(e) = self.bind_error.take() {
            return Err(StoreError::Encode(e));
        }
        let args = std::mem::take(&mut self.args);
        Ok(sqlx::query_with(AssertSqlSafe(numbered(&self.sql)), args))
    }
}

/// Items of a list in a [`SqlBuilder`].
pub(crate) struct Separated<'b> {
    builder: &'b mut SqlBuilder,
    separator: &'static str,
    first: bool,
}

impl Separated<'_> {
    fn separate(&mut self) {
        if !self.first {
            self.builder.push(self.separator);
        }
        self.first = false;
    }

    /// Appends a bound value as the next item.
    pub(crate) fn push_bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'t, Any> + Type<Any>,
    {
        self.separate();
        self.builder.push_bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_outside_quotes_are_numbered_in_order() {
        let cases = [
            ("SELECT 1", "SELECT 1"),
            ("a = ? AND b = ?", "a = $1 AND b = $2"),
            ("x = '?' AND y = ?", "x = '?' AND y = $1"),
            ("\"we?ird\" = ? OR z IN (?, ?)", "\"we?ird\" = $1 OR z IN ($2, $3)"),
            ("'it''s ?' || ?", "'it''s ?' || $1"),
        ];
        for (sql, want) in cases {
            assert_eq!(numbered(sql), want, "{sql}");
        }
    }
}
