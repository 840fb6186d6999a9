#pragma once

#include "keys/UpstreamKeySources.h"
#include "keys/VirtualKey.h"
#include "rewrite/CacheInjector.h"
#include "routing/Provider.h"
#include "routing/Route.h"
#include "store/StoreConfig.h"

#include <QByteArray>
#include <QHostAddress>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QUrl>
#include <optional>

namespace tollgate {

// Everything the gateway needs to run, as plain values. The app fills it from the
// command line (and later from the settings file); tests fill it directly.
struct GatewayConfig
{
    QHostAddress listenAddress = QHostAddress::LocalHost;
    quint16 port = 8787; // 0 picks a free port (tests)
    // Listening on anything but loopback makes the gateway reachable from other machines:
    // it must be asked for (--allow-remote, settings "allow_remote"), and then every client
    // needs a virtual key (no passthrough of client credentials). See exposureProblem().
    bool allowRemote = false;
    // Host header values accepted besides the listener's own addresses (settings
    // "allowed_hosts"): the DNS name a team server is reached by, with an optional :port.
    QStringList allowedHosts;

    // Base URL of the vendor; may carry a path prefix (https://host/prefix).
    QUrl upstream = QUrl(QStringLiteral("https://api.anthropic.com"));
    // The pool of upstream keys a virtual-key request is sent with (as x-api-key, in place
    // of the client's credential). upstreamKey is the one-key form, alias "default".
    QList<UpstreamKey> upstreamKeys;
    QByteArray upstreamKey;
    // Aliases of upstream keys kept in the OS keychain (settings "upstream_keys"); the app
    // reads their secrets into upstreamKeys at start.
    QStringList keychainKeys;
    enum class KeyStrategy { RoundRobin, LeastRecentlyLimited };
    KeyStrategy keyStrategy = KeyStrategy::RoundRobin;
    // Requests of one Claude Code session stay on one key while it is healthy, so the
    // upstream prompt cache (per organisation) keeps hitting.
    bool sessionAffinity = false;
    // PEM file of extra CA certificates trusted for the upstream's TLS certificate, in
    // addition to the system's (a corporate TLS proxy, a self-hosted vendor, tests).
    QString upstreamCaFile;

    // Credentials of the default virtual key (alias "default": the key file's or
    // --virtual-key); clients must present one of these or of namedVirtualKeys.
    QList<QByteArray> virtualKeys;
    // Keys made with `tollgate vkeys` (settings "virtual_keys"), each with its own tag,
    // models, limits and budget; the app reads their secrets into them at start.
    QList<VirtualKey> namedVirtualKeys;
    // Limits of the default virtual key's requests (never per source address); 0 turns one
    // off.
    qint64 requestsPerMinute = 0;
    qint64 inputTokensPerMinute = 0; // input plus cache writes, as Anthropic counts them
    qint64 outputTokensPerMinute = 0;
    int maxConcurrentStreams = 0;
    bool passthroughAuth = false; // forward a non-virtual credential untouched
    QString billingTag; // the virtual key's billing tag (a request's x-tollgate-tag wins)
    // Prompt-cache injection on /v1/messages (settings "prompt_cache"): on by default; a
    // virtual key may turn it off for its requests.
    CacheInjector::Policy cacheInjection;
    // Spend caps of the default virtual key ("budget") and of billing tags ("tag_budgets"),
    // over every key that uses the tag; days and months in the local time zone.
    BudgetGuard::Caps budget;
    QMap<QString, BudgetGuard::Caps> tagBudgets;

    // Claude Code gives up after 300 s without a byte, so the upstream timeouts are
    // longer than that and never fire first.
    int connectTimeoutMs = 10'000;
    int firstByteTimeoutMs = 600'000;
    int idleTimeoutMs = 360'000;

    int headerReadTimeoutMs = 30'000; // client must send its header block within this
    // The request body must arrive within this, plus a second per 16 KiB received (a body
    // trickled byte by byte is cut; a large one on a slow link is not).
    int bodyReadTimeoutMs = 30'000;
    int keepAliveTimeoutMs = 120'000; // idle client connection is closed after this
    int upstreamIdleTimeoutMs = 30'000; // pooled upstream connection is closed after this

    // Anthropic's limits: 32 MB for Messages and token counting, 256 MB for batches.
    qint64 maxHeaderBytes = 64 * 1024;
    qint64 maxBodyBytes = 32LL * 1024 * 1024;
    qint64 maxBatchBodyBytes = 256LL * 1024 * 1024;
    // Prompt-cache scan journals of the latest large Messages bodies, kept for each
    // conversation's next turn: at most this many, in at most this much memory together
    // (about 7% of the bodies they stand for).
    int scanJournalCount = 16;
    qint64 scanJournalBytes = 4LL * 1024 * 1024;

    // The request log: a SQLite file or a PostgreSQL database. None: requests are
    // accounted (signals, metrics) but not kept.
    std::optional<StoreConfig> store;
    int retentionDays = 0; // rows older than this are removed; 0 keeps them all
    // Opt-in: keep request and response bodies in the request log, credentials redacted,
    // each up to this many bytes. 0 keeps none.
    qint64 bodyLogCapBytes = 0;
    // The user's additions to and overrides of the built-in price table, by model id.
    QJsonObject priceOverrides;

    // Vendors besides the built-in "anthropic" one (settings "providers"), and the ordered
    // rules that send a request to them by its model (settings "routes"); no rule: every
    // request goes to "anthropic".
    QList<Provider> providers;
    QList<Route> routes;
    // Browser origins (scheme://host[:port]) allowed to call the gateway with CORS
    // (settings "cors_origins"); empty: no cross-origin request is allowed.
    QStringList corsOrigins;

    // Returns an empty string when the config is usable, otherwise what is wrong.
    QString validate() const;
    // Whether the listen address is a loopback one (only this machine can connect).
    bool isLoopbackOnly() const;
    // Why the listener may not be exposed as configured: a non-loopback address without
    // allowRemote, or with passthrough of client credentials. Empty when it may.
    QString exposureProblem() const;
    // The base URL clients set as ANTHROPIC_BASE_URL for this listener on port: a wildcard
    // listen address is shown as loopback, an IPv6 address in brackets.
    QString clientBaseUrl(quint16 port) const;
    // The default key (limits, tag and budget from the fields above) when virtualKeys has
    // any credential, then namedVirtualKeys.
    QList<VirtualKey> allVirtualKeys() const;
    // Whether any virtual key or billing tag has a spend cap.
    bool hasBudgets() const;
    // upstreamKeys, with upstreamKey as "default" when set.
    QList<UpstreamKey> allUpstreamKeys() const;
};

} // namespace tollgate
