//! Dashboard: devices by status and trust domain as a chart, and recent transitions
//! (card C5), from the registry's signed statistics.

use leptos::prelude::*;
use trustreg_model::answers::{Statistics as Signed, StatusCounts};

use crate::api::{ApiError, segment};
use crate::format::age_of;
use crate::state::{Portal, now_ms};
use crate::widgets::{Badge, Load, NeedsLogin, load, show};
use trustreg_model::routes::Op;

/// Y.3059's three statuses (6.1 d) and the registry's fourth, of devices whose registration
/// ended (6.3 e), in the statistics' order.
const STATUSES: [&str; 4] = ["trusted", "unverified", "unreliable", "deregistered"];

async fn statistics(portal: Portal) -> Result<Signed, ApiError> {
    let token = portal.token();
    let answer: serde_json::Value = portal
        .api()
        .get(Op::Statistics.path(), token.as_deref())
        .await?;
    Ok(portal
        .registry()
        .await?
        .verified::<Signed>(answer["statement"].as_str(), now_ms())?
        .answer)
}

/// One bar of a stacked bar: a status, how many, and where its segment starts and how wide it
/// is, as fractions of the widest bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub status: &'static str,
    pub count: u64,
    pub start: f64,
    pub width: f64,
}

/// The rows of the chart: a label and its segments, scaled to the largest total.
pub fn bars(rows: &[(String, [u64; 4])]) -> Vec<(String, u64, Vec<Segment>)> {
    let largest = rows
        .iter()
        .map(|(_, c)| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    rows.iter()
        .map(|(label, counts)| {
            let mut start = 0.0;
            let segments = STATUSES
                .iter()
                .zip(counts)
                .map(|(status, &count)| {
                    let width = count as f64 / largest;
                    let segment = Segment {
                        status,
                        count,
                        start,
                        width,
                    };
                    start += width;
                    segment
                })
                .collect();
            (label.clone(), counts.iter().sum(), segments)
        })
        .collect()
}

fn counts(c: &StatusCounts) -> [u64; 4] {
    [c.trusted, c.unverified, c.unreliable, c.deregistered]
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let portal = Portal::get();
    let stats = RwSignal::new(Load::<Signed>::Idle);
    Effect::new(move |_| {
        if portal.session.get().is_some() {
            load(stats, statistics(portal));
        }
    });
    view! {
        <section>
            <h1>"Dashboard"</h1>
            <Show when=move || portal.session.get().is_some() fallback=|| view! { <NeedsLogin/> }>
                {move || show(stats.get(), |s| view! { <Statistics stats=s/> })}
            </Show>
        </section>
    }
}

#[component]
fn Statistics(stats: Signed) -> impl IntoView {
    let mut rows = vec![("All devices".to_owned(), counts(&stats.by_status))];
    rows.extend(
        stats
            .by_domain
            .iter()
            .map(|(name, c)| (name.clone(), counts(c))),
    );
    let transitions = stats.recent_transitions;
    let now = now_ms();
    view! {
        <p class="hint">{format!("As of {}.", age_of(&stats.as_of, now))}</p>
        <Chart rows/>
        <h2>"Recent transitions"</h2>
        <ul class="timeline" data-testid="recent-transitions">
            {if transitions.is_empty() {
                view! { <li>"None yet."</li> }.into_any()
            } else {
                transitions.into_iter().map(|t| {
                    let href = format!("/devices/{}", segment(&t.regdevid));
                    view! {
                        <li>
                            <time>{age_of(&t.at, now)}</time>
                            <a href=href>{t.regdevid.clone()}</a>
                            <span>{format!(" {} → ", t.from.as_str())}</span>
                            <Badge status=t.to.as_str().to_owned()/>
                        </li>
                    }
                }).collect_view().into_any()
            }}
        </ul>
    }
}

#[component]
fn Chart(rows: Vec<(String, [u64; 4])>) -> impl IntoView {
    const ROW: f64 = 34.0;
    const LABEL: f64 = 170.0;
    const WIDTH: f64 = 420.0;
    let bars = bars(&rows);
    let height = ROW * bars.len() as f64 + 30.0;
    view! {
        <svg class="chart" data-testid="chart-status" role="img" aria-label="Devices by status and trust domain"
            viewBox=format!("0 0 {} {height}", LABEL + WIDTH + 60.0) width="100%">
            {bars.into_iter().enumerate().map(|(i, (label, total, segments))| {
                let y = i as f64 * ROW;
                view! {
                    <g>
                        <text x="0" y=y + 20.0 class="chart-label">{label}</text>
                        {segments.into_iter().filter(|s| s.count > 0).map(|s| view! {
                            <rect class=format!("bar bar-{}", s.status) x=LABEL + s.start * WIDTH y=y + 6.0
                                width=(s.width * WIDTH).max(1.0) height=ROW - 12.0>
                                <title>{format!("{}: {}", s.status, s.count)}</title>
                            </rect>
                        }).collect_view()}
                        <text x=LABEL + WIDTH + 8.0 y=y + 20.0 class="chart-total">{total.to_string()}</text>
                    </g>
                }
            }).collect_view()}
            <g class="legend">
                {STATUSES.iter().enumerate().map(|(i, s)| {
                    let x = LABEL + i as f64 * 110.0;
                    let y = height - 14.0;
                    view! {
                        <rect class=format!("bar bar-{s}") x=x y=y width="12" height="12"></rect>
                        <text x=x + 18.0 y=y + 11.0 class="chart-label">{*s}</text>
                    }
                }).collect_view()}
            </g>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // card C5: device counts by status and domain as a chart.
    #[test]
    fn bars_are_stacked_and_scaled_to_the_largest_total() {
        let rows = vec![
            ("all".to_owned(), [5, 3, 1, 1]),
            ("health".to_owned(), [2, 0, 3, 0]),
        ];
        let stacked = bars(&rows);
        assert_eq!(stacked[0].1, 10);
        let all = &stacked[0].2;
        assert_eq!((all[0].start, all[0].width), (0.0, 0.5));
        assert!((all[2].start - 0.8).abs() < 1e-9 && (all[2].width - 0.1).abs() < 1e-9);
        // The deregistered devices are a segment of their own, the last.
        assert_eq!(all[3].status, "deregistered");
        assert!((all[3].start - 0.9).abs() < 1e-9 && (all[3].width - 0.1).abs() < 1e-9);
        let health = &stacked[1].2;
        assert_eq!(health[1].width, 0.0);
        assert!((health[2].start - 0.2).abs() < 1e-9 && (health[2].width - 0.3).abs() < 1e-9);
        assert!(
            bars(&[("none".to_owned(), [0, 0, 0, 0])])[0]
                .2
                .iter()
                .all(|s| s.width == 0.0)
        );
    }
}
