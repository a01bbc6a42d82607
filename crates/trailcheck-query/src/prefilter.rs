//! A cheap test that skips records a query's `WHERE eventname = '...'` cannot match, before
//! their columns are built.
//!
//! Most questions name the event (`eventname = 'DeleteBucket'`, `eventname IN (...)`), and
//! most records are other events. A record whose raw JSON text holds none of the names cannot
//! have one of them as its `eventName`, unless the text uses escapes, so such a record is
//! skipped after the JSON syntax of it was checked (finding its end) but before any column is
//! built. DataFusion still applies the filter itself (the pushdown is `Inexact`): this only
//! removes rows that could never pass it, so answers are the same with it and without it.

use datafusion::logical_expr::{Expr, Operator};
use datafusion::scalar::ScalarValue;
use memchr::memchr;
use memchr::memmem::Finder;

/// The event names a query keeps, from a top-level `eventname = 'X'` or
/// `eventname IN ('X', ...)` filter.
#[derive(Clone, Debug)]
pub(crate) struct Prefilter {
    names: Vec<String>,
    /// Each name as it stands in JSON text, `"NAME"`, with its searcher built once.
    quoted: Vec<Finder<'static>>,
}

impl PartialEq for Prefilter {
    fn eq(&self, other: &Self) -> bool {
        self.names == other.names
    }
}

impl Prefilter {
    /// The prefilter one pushed-down filter gives, if it is of a shape this understands.
    pub(crate) fn of(filter: &Expr) -> Option<Prefilter> {
        let names = names_of(filter)?;
        // A name with a quote or backslash would be written escaped in JSON text.
        if names.is_empty() || names.iter().any(|n| n.contains(['"', '\\'])) {
            return None;
        }
        Some(Prefilter::new(names))
    }

    fn new(names: Vec<String>) -> Prefilter {
        let quoted = names
            .iter()
            .map(|n| Finder::new(format!("\"{n}\"").as_bytes()).into_owned())
            .collect();
        Prefilter { names, quoted }
    }

    /// The narrowest of several filters that all apply (they are ANDed): any one will do,
    /// and the one with the fewest names skips the most.
    pub(crate) fn of_all<'a>(filters: impl IntoIterator<Item = &'a Expr>) -> Option<Prefilter> {
        filters
            .into_iter()
            .filter_map(Prefilter::of)
            .min_by_key(|p| p.names.len())
    }

    /// Whether the record whose JSON text is `raw` may match: it holds one of the names as
    /// a JSON string, or holds an escape (which could spell one), or is not an object (left
    /// for the parser to reject).
    pub(crate) fn may_match(&self, raw: &str) -> bool {
        let bytes = raw.as_bytes();
        if !raw.trim_start().starts_with('{') {
            return true;
        }
        self.quoted.iter().any(|q| q.find(bytes).is_some()) || memchr(b'\\', bytes).is_some()
    }
}

/// The event names `filter` allows: `eventname = 'X'`, `eventname IN (...)`, or an `OR` of
/// those (which DataFusion makes of a short `IN` list).
fn names_of(filter: &Expr) -> Option<Vec<String>> {
    match filter {
        Expr::BinaryExpr(b) if b.op == Operator::Eq => match (&*b.left, &*b.right) {
            (column, literal) | (literal, column) if is_eventname(column) => {
                Some(vec![text(literal)?])
            }
            _ => None,
        },
        Expr::BinaryExpr(b) if b.op == Operator::Or => {
            let mut names = names_of(&b.left)?;
            names.extend(names_of(&b.right)?);
            Some(names)
        }
        Expr::InList(list) if !list.negated && is_eventname(&list.expr) => {
            list.list.iter().map(text).collect()
        }
        _ => None,
    }
}

fn is_eventname(expr: &Expr) -> bool {
    matches!(expr, Expr::Column(c) if c.name.eq_ignore_ascii_case("eventname"))
}

fn text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Literal(ScalarValue::Utf8(Some(s)), _)
        | Expr::Literal(ScalarValue::LargeUtf8(Some(s)), _)
        | Expr::Literal(ScalarValue::Utf8View(Some(s)), _) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{col, lit};

    use super::*;

    #[test]
    fn equality_and_in_lists_on_eventname_give_a_prefilter_other_filters_do_not() {
        let eq = Prefilter::of(&col("eventname").eq(lit("DeleteBucket"))).expect("eq");
        assert_eq!(eq.names, ["DeleteBucket"]);
        let flipped = Prefilter::of(&lit("DeleteBucket").eq(col("eventname"))).expect("flipped");
        assert_eq!(flipped, eq);
        let list = col("eventname").in_list(vec![lit("A"), lit("B")], false);
        assert_eq!(Prefilter::of(&list).expect("in").names, ["A", "B"]);
        for other in [
            col("eventname").in_list(vec![lit("A")], true),
            col("eventname").not_eq(lit("A")),
            col("eventsource").eq(lit("s3.amazonaws.com")),
            col("eventname").eq(col("eventsource")),
            col("eventname")
                .eq(lit("A"))
                .or(col("eventsource").eq(lit("B"))),
            col("eventname").eq(lit("with\"quote")),
        ] {
            assert_eq!(Prefilter::of(&other), None, "{other}");
        }
        let either = col("eventname")
            .eq(lit("A"))
            .or(col("eventname").eq(lit("B")));
        assert_eq!(Prefilter::of(&either).expect("or").names, ["A", "B"]);
        let narrowest = Prefilter::of_all(&[list, col("eventname").eq(lit("DeleteBucket"))]);
        assert_eq!(narrowest, Some(eq));
    }

    #[test]
    fn a_record_is_skipped_only_when_no_name_can_be_in_it() {
        let p = Prefilter::new(vec!["DeleteBucket".to_owned()]);
        assert!(p.may_match(r#"{"eventName":"DeleteBucket","x":1}"#));
        assert!(!p.may_match(r#"{"eventName":"CreateBucket"}"#));
        // A longer name that contains it is not it, and says nothing either way.
        assert!(!p.may_match(r#"{"eventName":"DeleteBucketPolicy"}"#));
        // Escapes could spell it: parsed, never skipped.
        assert!(p.may_match(r#"{"eventName":"Delete\u0042ucket"}"#));
        // Not an object: left for the parser to reject.
        assert!(p.may_match(r#"["DeleteBucket"]"#));
        assert!(p.may_match("17"));
    }
}
