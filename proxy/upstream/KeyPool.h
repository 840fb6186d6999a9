#pragma once

#include "../http/HeaderList.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QHash>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <array>
#include <functional>
#include <optional>

namespace tollgate {

// The upstream keys of one provider and the decision which one carries the next request.
// It owns each key's health (healthy, cooling down after a 429/529/5xx, disabled until the
// user acts), the latest anthropic-ratelimit-* values each key reported, and the table that
// keeps a Claude Code session on one key. Pure logic: no sockets, no timers, no keychain,
// no clock; every call takes the monotonic time in microseconds. Not thread-safe: it lives
// on the proxy thread and is called there for every request.
class KeyPool
{
    Q_DECLARE_TR_FUNCTIONS(KeyPool)

public:
    enum class Strategy {
        RoundRobin, // spread requests evenly over the usable keys
        LeastRecentlyLimited, // prefer the key whose last 429/529 lies furthest back
    };
    enum class State { Healthy, CoolingDown, Disabled };

    // Status passed to shouldRetry() and RetryBudget for "no response at all".
    static constexpr int kConnectFailure = 0;
    // A request tries at most this many distinct keys, however large the pool.
    static constexpr int kMaxKeysPerRequest = 4;
    // Session affinity table bounds.
    static constexpr int kDefaultMaxSessions = 10000;
    static constexpr qint64 kDefaultSessionIdleUs = 3600LL * 1000 * 1000;

    // One anthropic-ratelimit-<family>-{limit,remaining,reset} triple; -1 where unknown.
    struct RateLimit
    {
        qint64 limit = -1;
        qint64 remaining = -1;
        qint64 resetAtMs = -1; // wall clock, ms since the epoch, as the server sent it
        std::optional<qint64> resetAtUs; // the same instant on the monotonic clock

        bool isKnown() const { return limit >= 0 || remaining >= 0 || resetAtMs >= 0; }
    };

    // The latest rate-limit headers a key's responses carried. Families not present in a
    // response keep their previous values.
    struct RateLimits
    {
        RateLimit requests;
        RateLimit tokens; // the most restrictive token limit in force
        RateLimit inputTokens;
        RateLimit outputTokens;
        // anthropic-ratelimit-unified-* (subscription plans), names and values as received:
        // their member names are undocumented, so they are kept as text, never interpreted.
        HeaderList unified;
        std::optional<qint64> updatedUs;
    };

    struct KeySnapshot
    {
        QString alias;
        State state = State::Healthy;
        bool isEnabled = true;
        QString reason; // why it is disabled or cooling down; empty when healthy
        std::optional<qint64> coolingUntilUs;
        std::optional<qint64> lastLimitedUs; // last 429/529
        int lastStatus = -1; // -1 before any response; kConnectFailure after a failed connect
        RateLimits limits;
    };

    // What the healthy keys can still take, summed over the keys that reported a value.
    struct Headroom
    {
        struct Sum
        {
            qint64 remaining = 0;
            qint64 limit = 0;
            int keysReporting = 0;
        };
        int healthyKeys = 0;
        Sum requests;
        Sum tokens;
        Sum inputTokens;
        Sum outputTokens;
    };

    // A change the user may want to hear about (the app turns these into tray notices).
    struct Event
    {
        enum class Kind {
            Disabled, // the upstream rejected the key (401/402/403): it needs the user
            CoolingDown, // limited, overloaded or failing: not used until untilUs
            Recovered, // the first success after a cool-down
        };
        Kind kind = Kind::Recovered;
        QString alias;
        QString reason;
        int status = -1;
        qint64 atUs = 0;
        qint64 untilUs = 0; // CoolingDown only
    };
    using EventHandler = std::function<void(const Event &)>;

    // The key a request should use. When there is none, availableAtUs says when the earliest
    // key comes back from its cool-down; it is empty when no key will without the user
    // (all disabled, none configured, or all already tried by this request).
    struct Pick
    {
        quint32 keyId = 0; // stable for the key's lifetime in the pool; 0 = none
        QString alias;
        QByteArray secret;
        std::optional<qint64> availableAtUs;

        bool isValid() const { return keyId != 0; }
    };

    // The keys one request has tried. A request moves to another key after 429, 529, 5xx
    // or a failed connect, at most maxKeys() keys in all, and only while no byte of the
    // response has reached the client (after that the client sees the failure).
    class RetryBudget
    {
    public:
        explicit RetryBudget(int maxKeys = 1);

        int maxKeys() const { return m_maxKeys; }
        int attempts() const { return m_count; }
        bool hasTried(quint32 keyId) const;
        void recordAttempt(const Pick &pick);
        // Whether the failed attempt may be repeated on another key.
        bool allowsRetry(int status, bool hasSentBytesToClient) const;

    private:
        std::array<quint32, kMaxKeysPerRequest> m_tried {};
        int m_count = 0;
        int m_maxKeys;
    };

    KeyPool() = default;

    // Keys. Aliases are unique; add fails (false) on a duplicate or empty alias.
    bool addKey(const QString &alias, const QByteArray &secret, bool isEnabled = true);
    bool removeKey(const QString &alias);
    // A new secret is a new credential: its health and rate-limit history start afresh.
    bool replaceSecret(const QString &alias, const QByteArray &secret);
    // Turning a key on clears a 401/403 disable, its cool-down and its backoff.
    bool setEnabled(const QString &alias, bool isEnabled);
    bool contains(const QString &alias) const;
    // Takes over what another pool learnt of the keys both hold (same alias, same secret):
    // a refusal, a cool-down and its backoff, the rate-limit headers, and which key serves
    // which session. For a pool that replaces another one (new settings, same keys).
    void adoptHealth(const KeyPool &other);
    int keyCount() const { return int(m_keys.size()); }
    int enabledKeyCount() const;
    QStringList aliases() const;

    // Settings.
    void setStrategy(Strategy strategy) { m_strategy = strategy; }
    Strategy strategy() const { return m_strategy; }
    void setSessionAffinity(bool isOn);
    bool hasSessionAffinity() const { return m_hasAffinity; }
    void setAffinityBounds(int maxSessions, qint64 idleUs);
    int affinitySessionCount() const { return int(m_sessions.size()); }

    void setEventHandler(EventHandler handler) { m_eventHandler = std::move(handler); }

    // The key for the next attempt of a request. sessionId (x-claude-code-session-id) may be
    // empty; tried excludes keys this request already used.
    Pick pick(qint64 nowUs, const QByteArray &sessionId = QByteArray(),
              const RetryBudget *tried = nullptr);
    // A budget for one request: as many keys as are enabled, at most kMaxKeysPerRequest.
    RetryBudget retryBudget() const;

    // The upstream answered. wallNowMs (ms since the epoch) is only needed to place
    // HTTP-date and RFC 3339 values on the monotonic clock when the response has no Date
    // header; pass -1 when unknown.
    void reportResponse(const QString &alias, int status, const HeaderList &headers, qint64 nowUs,
                        qint64 wallNowMs = -1);
    // No response at all: connect, TLS or reset before the head.
    void reportFailure(const QString &alias, qint64 nowUs);

    // Statuses after which a request may be repeated on another key: 429, 5xx (529
    // included), a failed connect, and 401/402/403 (the key, not the request, was refused).
    static bool shouldRetry(int status);

    std::optional<KeySnapshot> keySnapshot(const QString &alias, qint64 nowUs) const;
    QList<KeySnapshot> snapshot(qint64 nowUs) const;
    Headroom headroom(qint64 nowUs) const;

private:
    struct Key
    {
        quint32 id = 0;
        QString alias;
        QByteArray secret;
        bool isEnabled = true;
        QString disabledReason; // set by 401/402/403
        qint64 coolingUntilUs = 0;
        bool isCooling = false; // coolingUntilUs is meaningful
        bool isTroubled = false; // cooled down since its last success
        QString coolDownReason;
        int limitLevel = 0; // consecutive 429/529: exponential backoff step
        int failureLevel = 0; // consecutive 5xx/connect failures
        std::optional<qint64> lastLimitedUs;
        int lastStatus = -1;
        RateLimits limits;

        bool isUsable(qint64 nowUs) const
        {
            return isEnabled && (!isCooling || nowUs >= coolingUntilUs);
        }
    };
    struct Session
    {
        quint32 keyId = 0;
        qint64 lastUsedUs = 0;
    };

    Key *findKey(const QString &alias);
    const Key *findKey(const QString &alias) const;
    qsizetype indexOfId(quint32 keyId) const;
    qsizetype chooseIndex(qint64 nowUs, const RetryBudget *tried);
    Pick makePick(qsizetype index);
    Pick noKey(qint64 nowUs, const RetryBudget *tried) const;
    void rememberSession(const QByteArray &sessionId, quint32 keyId, qint64 nowUs);
    void trimSessions(qint64 nowUs);
    void resetHealth(Key &key);
    void coolDown(Key &key, qint64 untilUs, int status, const QString &reason, qint64 nowUs);
    void disable(Key &key, int status, qint64 nowUs);
    void recordSuccess(Key &key, qint64 nowUs);
    void emitEvent(Event::Kind kind, const Key &key, int status, qint64 nowUs, qint64 untilUs = 0);
    KeySnapshot snapshotOf(const Key &key, qint64 nowUs) const;

    QList<Key> m_keys;
    QHash<QByteArray, Session> m_sessions;
    EventHandler m_eventHandler;
    Strategy m_strategy = Strategy::RoundRobin;
    bool m_hasAffinity = false;
    int m_maxSessions = kDefaultMaxSessions;
    qint64 m_sessionIdleUs = kDefaultSessionIdleUs;
    qsizetype m_cursor = 0; // round-robin position: the index tried first next time
    quint32 m_nextId = 1;
};

} // namespace tollgate

Q_DECLARE_METATYPE(tollgate::KeyPool::KeySnapshot)
Q_DECLARE_METATYPE(tollgate::KeyPool::Headroom)
