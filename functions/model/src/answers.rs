//! The API's answers that clients read: lookups, searches, histories, statistics and
//! subscriptions (their requests are in `messages`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::messages::{DeviceInfo, OwnerDetails};
use crate::records::HistoryEntry;
use crate::status::{Reason, TrustStatus};

/// What a lookup says about one device. `public` gets `id`, `status`, `status_since`,
/// `registry` and the statement; enquirers the details too; the device's owner and
/// administrators the owner with PII. `regdevid` is never shown behind a virtual ID except to
/// the device's owner and administrators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceAnswer {
    /// The id as asked (a RegDevID or a virtual ID).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regdevid: Option<String>,
    pub status: TrustStatus,
    /// RFC 3339.
    pub status_since: String,
    /// The registry's path.
    pub registry: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_domains: Option<Vec<String>>,
    /// Communication technologies and protocols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<Reason>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<String>,
    /// The device's owner or custodian id: for administrators and that owner only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerDetails>,
    /// Only for a device registered elsewhere and answered from this registry's mirror
    /// (Y.3059 6.1 c): the path of the registry it is registered at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// With `origin`: when this registry learnt the status (RFC 3339), the age of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// `GET /v1/devices/{id}`: the answer and the registry's signed statement of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupAnswer {
    #[serde(flatten)]
    pub device: DeviceAnswer,
    /// Compact JWS of `device` with the time it was said (`statements`).
    pub statement: String,
}

/// `GET /v1/devices?...`: one page. The statement says `{query, devices, next}`: the search as
/// the registry ran it (`owner` set for an owner's search, `limit` filled in), and this page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchAnswer {
    pub devices: Vec<DeviceAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    pub statement: String,
}

/// What the registry knows of a device over time: the values it registered with (9.3 iv),
/// then every report and status transition, oldest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceHistory {
    pub initial: DeviceInfo,
    pub entries: Vec<HistoryEntry>,
}

/// Devices per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub trusted: u64,
    pub unverified: u64,
    pub unreliable: u64,
    /// Devices whose registration ended (6.3 e); absent in answers of older registries.
    #[serde(default)]
    pub deregistered: u64,
}

impl StatusCounts {
    pub fn add(&mut self, status: TrustStatus, n: u64) {
        let slot = match status {
            TrustStatus::Trusted => &mut self.trusted,
            TrustStatus::Unverified => &mut self.unverified,
            TrustStatus::Unreliable => &mut self.unreliable,
            TrustStatus::Deregistered => &mut self.deregistered,
        };
        *slot += n;
    }
}

/// One status change: which device, from what to what, when. No actor, reasons or owner: the
/// device's history (`GET /v1/devices/{id}/history`) has those for who may read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentTransition {
    pub regdevid: String,
    pub from: TrustStatus,
    pub to: TrustStatus,
    /// RFC 3339.
    pub at: String,
}

/// What the statement says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    /// RFC 3339: when the counts were read.
    pub as_of: String,
    pub by_status: StatusCounts,
    /// Every domain the registry hosts (zero counts included) and any other a device names;
    /// a device of several domains counts in each.
    pub by_domain: BTreeMap<String, StatusCounts>,
    /// Newest first, at most `RECENT_TRANSITIONS`, from the last `RECENT_DAYS` UTC days.
    pub recent_transitions: Vec<RecentTransition>,
}

/// `GET /v1/statistics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatisticsAnswer {
    #[serde(flatten)]
    pub statistics: Statistics,
    /// Compact JWS of the statistics with the time they were said (`statements`).
    pub statement: String,
}

/// How notifications reach the subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// An SQS queue, by ARN; its queue policy must let the domain's topic send to it.
    Sqs,
    /// An `https://` URL (`http://` only to loopback, for local runs) that confirms first.
    Https,
    /// An email address that confirms first.
    Email,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqs => "sqs",
            Self::Https => "https",
            Self::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sqs" => Some(Self::Sqs),
            "https" => Some(Self::Https),
            "email" => Some(Self::Email),
            _ => None,
        }
    }
}

/// `POST /v1/subscriptions`. Without `filter` (or with `{}`), every notification of the domain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRequest {
    pub trust_domain: String,
    pub protocol: Protocol,
    pub endpoint: String,
    #[serde(default)]
    pub filter: Option<serde_json::Value>,
}

/// Where the notification service's side of a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionState {
    Confirmed,
    /// HTTPS and email endpoints receive nothing until they confirm.
    PendingConfirmation,
    /// The service no longer holds it: the endpoint unsubscribed itself, or never confirmed in
    /// time. Only deleting it here is left.
    Removed,
}

/// A subscription as its owner sees it. The endpoint stays sealed: it is the subscriber's own
/// data (an email address is personal) and answers need not repeat it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionView {
    pub subscription_id: String,
    pub trust_domain: String,
    pub protocol: Protocol,
    pub filter: serde_json::Value,
    pub state: SubscriptionState,
    /// RFC 3339.
    pub created_at: String,
}

/// `GET /v1/subscriptions`: the caller's, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionList {
    pub subscriptions: Vec<SubscriptionView>,
}
