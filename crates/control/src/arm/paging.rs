//! Paging: `{"value": [...], "nextLink": "..."}`.
//!
//! The skip token names a position in the store's creation order (the last item's sequence
//! number), so the next page is an index seek: every page costs the same whether it is the
//! first or the thousandth. Lists that are not stored (a circuit's peerings, the provider
//! catalogue) page by offset over a short in-memory list through the same token.

use super::Body;

/// What a list request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Items after this position (`$skipToken`); 0 = from the start.
    pub after: i64,
    pub size: usize,
}

/// One page: its items and, when more remain, the position to continue after.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Body>,
    pub next: Option<i64>,
}

impl Page {
    /// A page of a short in-memory list, by offset.
    pub fn of(items: Vec<Body>, req: PageRequest) -> Page {
        let start = usize::try_from(req.after).unwrap_or(0).min(items.len());
        let end = start.saturating_add(req.size).min(items.len());
        let next = (end < items.len()).then_some(end as i64);
        Page {
            items: items.into_iter().skip(start).take(end - start).collect(),
            next,
        }
    }

    /// The list body, with a `nextLink` back to `list_url` (already carrying api-version).
    pub fn body(self, list_url: &str) -> Body {
        let mut out = String::from("{\"value\":[");
        for (i, item) in self.items.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&item.into_string());
        }
        out.push(']');
        if let Some(next) = self.next {
            let link = format!("{list_url}&$skipToken={next}");
            out.push_str(",\"nextLink\":");
            out.push_str(&serde_json::to_string(&link).unwrap_or_default());
        }
        out.push('}');
        Body::Text(out)
    }
}

/// Parses a skip token; an unreadable one starts from the beginning (as if absent).
pub fn parse_token(s: Option<&str>) -> i64 {
    s.and_then(|s| s.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_pages_continue_where_the_last_ended() {
        let items: Vec<Body> = (0..5).map(|i| Body::Value(serde_json::json!(i))).collect();
        let p = Page::of(items.clone(), PageRequest { after: 0, size: 2 });
        assert_eq!((p.items.len(), p.next), (2, Some(2)));
        let body = p.body("https://x/list?api-version=1").into_string();
        let v: serde_json::Value = serde_json::from_str(&body).expect("a JSON page");
        assert_eq!(v["value"], serde_json::json!([0, 1]));
        assert_eq!(v["nextLink"], "https://x/list?api-version=1&$skipToken=2");
        let p = Page::of(items, PageRequest { after: 4, size: 2 });
        assert_eq!(p.next, None);
        assert_eq!(p.body("u").into_string(), "{\"value\":[4]}");
        assert_eq!(parse_token(Some("-3")), 0);
        assert_eq!(parse_token(Some("17")), 17);
    }
}
