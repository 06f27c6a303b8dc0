//! Small pieces every page uses: the status badge, errors, loading, and the state of a call.

use std::future::Future;

use leptos::prelude::*;

use crate::api::ApiError;

/// Where a call to the registry stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    Idle,
    Loading,
    Done(T),
    Failed(ApiError),
}

/// Runs `call`, showing its progress in `state`.
pub fn load<T, F>(state: RwSignal<Load<T>>, call: F)
where
    T: Send + Sync + 'static,
    F: Future<Output = Result<T, ApiError>> + 'static,
{
    state.set(Load::Loading);
    leptos::task::spawn_local(async move {
        state.set(match call.await {
            Ok(value) => Load::Done(value),
            Err(error) => Load::Failed(error),
        });
    });
}

/// The trust status as a badge: green, amber or red (Y.3059 6.1 d).
#[component]
pub fn Badge(status: String) -> impl IntoView {
    let class = format!("badge badge-{status}");
    view! { <span class=class data-testid="status-badge">{status}</span> }
}

#[component]
pub fn ErrorBox(error: ApiError) -> impl IntoView {
    view! { <div class="error" role="alert" data-testid="error">{error.message}</div> }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" data-testid="loading">"Loading…"</p> }
}

/// `Idle` shows nothing, `Loading` and `Failed` their boxes, `Done` what `done` makes of it.
pub fn show<T, V>(state: Load<T>, done: impl FnOnce(T) -> V) -> AnyView
where
    V: IntoView + 'static,
{
    match state {
        Load::Idle => ().into_any(),
        Load::Loading => view! { <Loading/> }.into_any(),
        Load::Failed(error) => view! { <ErrorBox error/> }.into_any(),
        Load::Done(value) => done(value).into_any(),
    }
}

/// The choices of a status field: any, or one of the three (Y.3059 6.1 d), or `deregistered`
/// (6.3 e), which searches and notifications carry like the others.
#[component]
pub fn StatusOptions() -> impl IntoView {
    view! {
        <option value="">"any"</option>
        <option value="trusted">"trusted"</option>
        <option value="unverified">"unverified"</option>
        <option value="unreliable">"unreliable"</option>
        <option value="deregistered">"deregistered"</option>
    }
}

/// Asks to log in, for pages that need an enquirer's session.
#[component]
pub fn NeedsLogin() -> impl IntoView {
    view! {
        <div class="notice" data-testid="needs-login">
            "This page is for approved enquirers. "
            <a href="/account">"Sign up or log in"</a>
            "."
        </div>
    }
}
