-- Several replicas on one store (docs/cluster.md): each shard of the plant (a line with
-- its machines and tickets) has one owner at a time. `epoch` goes up at each change of
-- owner and is the fencing token of the owner's writes; `expires_ms` is when the lease
-- lapses unless renewed. `cluster_member` holds each replica's last heartbeat, from which
-- every replica knows how many are alive and so its fair share of shards.
CREATE TABLE shard_lease (
    shard      BIGINT PRIMARY KEY,
    owner      TEXT,
    epoch      BIGINT NOT NULL DEFAULT 0,
    expires_ms BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE cluster_member (
    replica TEXT PRIMARY KEY,
    seen_ms BIGINT NOT NULL
);
