-- Read models built by projections/ from the ledger's facts. Rebuildable from position 0.
-- Never edit this file once landed: add a new numbered migration instead.

CREATE TABLE IF NOT EXISTS members (
    member_id        uuid PRIMARY KEY,
    status           text        NOT NULL,            -- active | merged
    merged_into      uuid,
    enrolled_at      timestamptz NOT NULL,
    referral_code    text        NOT NULL,
    available        bigint      NOT NULL DEFAULT 0,
    pending          bigint      NOT NULL DEFAULT 0,
    debt             bigint      NOT NULL DEFAULT 0,
    lifetime_earned  bigint      NOT NULL DEFAULT 0,
    redeemed         bigint      NOT NULL DEFAULT 0,
    expired          bigint      NOT NULL DEFAULT 0,
    tier             text        NOT NULL DEFAULT 'base',
    tier_since       timestamptz,
    tier_expires_at  timestamptz,
    version          integer     NOT NULL,            -- last fact applied
    chain_head       text        NOT NULL,            -- fact_hash of that fact
    updated_at       timestamptz NOT NULL             -- recorded_at of that fact
);
CREATE INDEX IF NOT EXISTS members_tier_term_due ON members (tier_expires_at)
    WHERE tier_expires_at IS NOT NULL AND status = 'active';

CREATE TABLE IF NOT EXISTS identities (
    kind      text NOT NULL,
    value     text NOT NULL,
    member_id uuid NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX IF NOT EXISTS identities_member ON identities (member_id);

-- Lots with points left; what `tick` reads to find who is due.
CREATE TABLE IF NOT EXISTS lots (
    member_id    uuid        NOT NULL,
    lot_id       text        NOT NULL,
    source       text        NOT NULL,
    remaining    bigint      NOT NULL,
    available_at timestamptz NOT NULL,
    expires_at   timestamptz,
    pending      boolean     NOT NULL,
    PRIMARY KEY (member_id, lot_id)
);
CREATE INDEX IF NOT EXISTS lots_activation_due ON lots (available_at) WHERE pending;
CREATE INDEX IF NOT EXISTS lots_expiry_due ON lots (expires_at)
    WHERE NOT pending AND expires_at IS NOT NULL;

-- One row per point movement, in global order (position = the fact's notification id).
CREATE TABLE IF NOT EXISTS ledger_entries (
    position        bigint PRIMARY KEY,
    entry_id        text        NOT NULL UNIQUE,      -- "<member_id>:<version>"
    member_id       uuid        NOT NULL,
    version         integer     NOT NULL,
    kind            text        NOT NULL,
    points          bigint      NOT NULL,
    available_after bigint      NOT NULL,
    pending_after   bigint      NOT NULL,
    debt_after      bigint      NOT NULL,
    forgiven        bigint      NOT NULL DEFAULT 0,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    reference_type  text        NOT NULL,
    reference_id    text        NOT NULL,
    actor           jsonb       NOT NULL,
    program_version integer
);
CREATE INDEX IF NOT EXISTS ledger_entries_member ON ledger_entries (member_id, position);
CREATE INDEX IF NOT EXISTS ledger_entries_recorded ON ledger_entries (recorded_at, position);

-- Running totals per entry kind, for the summary "now" (as_of sums ledger_entries).
CREATE TABLE IF NOT EXISTS ledger_totals (
    kind     text PRIMARY KEY,
    points   bigint NOT NULL DEFAULT 0,
    forgiven bigint NOT NULL DEFAULT 0,
    entries  bigint NOT NULL DEFAULT 0
);
