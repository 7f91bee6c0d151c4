//! Subscriptions, the outbox of deliveries, and the lease (with its feed
//! position) of the replica that follows tracking's alert feed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    Owner,
    OwnerRole,
    OwnerUnit,
    UnitId,
    ChannelKind,
    Endpoint,
    Sealed,
    HasSecret,
    SecretEnv,
    Rules,
    LeastSeverity,
    TimeZone,
    QuietStart,
    QuietEnd,
    DigestHour,
    Language,
    MoneyUnit,
    RemindMinutes,
    State,
    CreatedAt,
    DeletedAt,
    Version,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    SubscriptionId,
    Owner,
    Event,
    DedupeKey,
    UnitId,
    Severity,
    Payload,
    Body,
    Digest,
    State,
    Attempts,
    LastError,
    CreatedAt,
    NextAttemptAt,
    ClaimedUntil,
    SentAt,
    EndpointKey,
}

#[derive(DeriveIden)]
enum LiveAlerts {
    Table,
    AlertId,
    Payload,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
    Position,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use Subscriptions as S;
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(ColumnDef::new(S::Id).string().not_null().primary_key())
                .col(ColumnDef::new(S::Owner).string().not_null())
                .col(ColumnDef::new(S::OwnerRole).string().not_null())
                .col(ColumnDef::new(S::OwnerUnit).string().not_null())
                .col(ColumnDef::new(S::UnitId).string().not_null())
                .col(ColumnDef::new(S::ChannelKind).string().not_null())
                .col(ColumnDef::new(S::Endpoint).string().not_null())
                // The channel's URL and secret, sealed with the service's key.
                .col(ColumnDef::new(S::Sealed).text().not_null())
                .col(ColumnDef::new(S::HasSecret).boolean().not_null())
                .col(ColumnDef::new(S::SecretEnv).string().null())
                .col(ColumnDef::new(S::Rules).string().not_null())
                .col(ColumnDef::new(S::LeastSeverity).string().not_null())
                .col(ColumnDef::new(S::TimeZone).string().not_null())
                .col(ColumnDef::new(S::QuietStart).string().null())
                .col(ColumnDef::new(S::QuietEnd).string().null())
                .col(ColumnDef::new(S::DigestHour).integer().null())
                .col(ColumnDef::new(S::Language).string().not_null())
                .col(ColumnDef::new(S::MoneyUnit).string().not_null())
                .col(ColumnDef::new(S::RemindMinutes).integer().not_null())
                .col(ColumnDef::new(S::State).string().not_null())
                .col(ColumnDef::new(S::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(S::DeletedAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(S::Version).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_subscriptions_owner").table(S::Table).col(S::Owner).col(S::Id).to_owned(),
        )
        .await?;
        use Deliveries as D;
        m.create_table(
            Table::create()
                .table(D::Table)
                .col(ColumnDef::new(D::Id).string().not_null().primary_key())
                .col(ColumnDef::new(D::SubscriptionId).string().not_null())
                .col(ColumnDef::new(D::Owner).string().not_null())
                .col(ColumnDef::new(D::Event).string().not_null())
                .col(ColumnDef::new(D::DedupeKey).string().not_null())
                .col(ColumnDef::new(D::UnitId).string().not_null())
                .col(ColumnDef::new(D::Severity).string().not_null())
                // The event's fields, as the message is rendered from them.
                .col(ColumnDef::new(D::Payload).text().not_null())
                .col(ColumnDef::new(D::Body).text().not_null())
                .col(ColumnDef::new(D::Digest).boolean().not_null())
                .col(ColumnDef::new(D::State).string().not_null())
                .col(ColumnDef::new(D::Attempts).integer().not_null())
                .col(ColumnDef::new(D::LastError).text().not_null())
                .col(ColumnDef::new(D::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(D::NextAttemptAt).big_integer().not_null())
                .col(ColumnDef::new(D::ClaimedUntil).big_integer().not_null())
                .col(ColumnDef::new(D::SentAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(D::EndpointKey).string().not_null())
                .to_owned(),
        )
        .await?;
        // At most one delivery per event change and subscription.
        m.create_index(
            Index::create()
                .name("ux_deliveries_dedupe")
                .table(D::Table)
                .col(D::SubscriptionId)
                .col(D::DedupeKey)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_deliveries_due").table(D::Table).col(D::State).col(D::NextAttemptAt).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deliveries_endpoint")
                .table(D::Table)
                .col(D::EndpointKey)
                .col(D::SentAt)
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("ix_deliveries_owner").table(D::Table).col(D::Owner).col(D::Id).to_owned())
            .await?;
        // The alerts open now, as the feed last carried them: what a new
        // subscriber asking for them is told of.
        m.create_table(
            Table::create()
                .table(LiveAlerts::Table)
                .col(ColumnDef::new(LiveAlerts::AlertId).string().not_null().primary_key())
                .col(ColumnDef::new(LiveAlerts::Payload).text().not_null())
                .col(ColumnDef::new(LiveAlerts::UpdatedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        use Leases as L;
        m.create_table(
            Table::create()
                .table(L::Table)
                .col(ColumnDef::new(L::Name).string().not_null().primary_key())
                .col(ColumnDef::new(L::Holder).string().not_null())
                .col(ColumnDef::new(L::ExpiresAt).big_integer().not_null())
                // The feed's resume token after the last event consumed.
                .col(ColumnDef::new(L::Position).text().null())
                .to_owned(),
        )
        .await
    }
}
