//! Charts drawn in the app as inline SVG (no chart service, nothing fetched): a
//! horizontal bar for a share, and a 12-period trend line with its target.

use leptos::prelude::*;

/// A bar filled to `share` (0–1), `data-share` carrying the figure for tests.
pub fn bar(share: Option<f64>, warn: bool) -> impl IntoView {
    let share = share.unwrap_or(0.0).clamp(0.0, 1.0);
    let width = format!("{:.1}", share * 100.0);
    let figure = width.clone();
    view! {
        <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" data-share=figure>
            <rect x="0" y="0" width="100" height="10" class="track" />
            <rect x="0" y="0" width=width height="10" class=if warn { "fill warn" } else { "fill" } />
        </svg>
    }
}

/// A trend line over `values` (oldest first; `None` = no data that period), scaled
/// between the smallest and largest of the values and `target`, with the target dashed.
pub fn sparkline(values: Vec<Option<f64>>, target: Option<f64>) -> impl IntoView {
    const W: f64 = 120.0;
    const H: f64 = 36.0;
    let known: Vec<f64> = values.iter().flatten().copied().chain(target).collect();
    let lo = known.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = known.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let step = if values.len() > 1 { W / (values.len() - 1) as f64 } else { 0.0 };
    let y = move |v: f64| H - 3.0 - (v - lo) / span * (H - 6.0);
    let points: Vec<(f64, f64)> =
        values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64 * step, y(v)))).collect();
    let line = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let last = points.last().copied();
    let target_y = target.filter(|_| !known.is_empty()).map(y);
    view! {
        <svg class="spark" viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img" data-points=points.len()>
            {target_y.map(|t| view! { <line x1="0" x2=W y1=t y2=t class="target" /> })}
            <polyline points=line class="line" />
            {last.map(|(x, y)| view! { <circle cx=x cy=y r="2.5" class="dot" /> })}
        </svg>
    }
}
