#include "KeyPool.h"

#include <QStringList>
#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

namespace tollgate {

namespace {

constexpr qint64 kSecondUs = 1000 * 1000;
// 429/529 without a usable hint: 1 s doubling to 60 s (Claude Code itself gives up on a
// retry-after above 60 s, so nothing longer is guessed).
constexpr qint64 kLimitBackoffMaxUs = 60 * kSecondUs;
// 5xx and failed connects are rarely the key's fault: a short pause that moves traffic to
// the other keys, 1 s doubling to 10 s.
constexpr qint64 kFailureBackoffMaxUs = 10 * kSecondUs;
// Bounds on what a server hint may impose: a key is never parked for longer than an hour on
// one header (a malformed or absurd value must not lose the key for good), and never for
// less than a second (retry-after: 0 on a 429 would otherwise retry it in a tight loop).
constexpr qint64 kMaxHintedCoolDownUs = 3600 * kSecondUs;
constexpr qint64 kMinCoolDownUs = kSecondUs;
constexpr int kMaxBackoffLevel = 30;

constexpr QByteArrayView kRateLimitPrefix("anthropic-ratelimit-");
constexpr QByteArrayView kUnifiedPrefix("unified-");

enum Family { Requests, Tokens, InputTokens, OutputTokens, FamilyCount };
enum Field { Limit, Remaining, Reset, NoField };

// ASCII case-insensitive comparisons, inline: every response's headers go through them.
char toLowerAscii(char c)
{
    return c >= 'A' && c <= 'Z' ? char(c + ('a' - 'A')) : c;
}

bool equalsCiN(const char *a, const char *b, qsizetype n)
{
    // The patterns are lower case and so are the names Anthropic sends: memcmp decides
    // almost always, the loop only for mixed-case names.
    if (std::memcmp(a, b, size_t(n)) == 0)
        return true;
    for (qsizetype i = 0; i < n; ++i) {
        if (toLowerAscii(a[i]) != toLowerAscii(b[i]))
            return false;
    }
    return true;
}

bool startsWithCi(QByteArrayView text, QByteArrayView prefix)
{
    return text.size() >= prefix.size() && equalsCiN(text.data(), prefix.data(), prefix.size());
}

bool equalsCi(QByteArrayView a, QByteArrayView b)
{
    return a.size() == b.size() && equalsCiN(a.data(), b.data(), a.size());
}

QByteArrayView trimmedView(QByteArrayView text)
{
    while (!text.isEmpty() && (text.front() == ' ' || text.front() == '\t'))
        text = text.sliced(1);
    while (!text.isEmpty() && (text.back() == ' ' || text.back() == '\t'))
        text.chop(1);
    return text;
}

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

bool isAlpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// A non-negative decimal integer and nothing else; -1 when malformed.
qint64 parseCount(QByteArrayView text)
{
    text = trimmedView(text);
    qint64 value = -1;
    const char *end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.isEmpty() || ec != std::errc() || ptr != end || value < 0)
        return -1;
    return value;
}

// Fixed-width decimal digits at text[pos, pos + width).
bool readDigits(QByteArrayView text, qsizetype pos, int width, int &value)
{
    if (pos + width > text.size())
        return false;
    value = 0;
    for (int i = 0; i < width; ++i) {
        const char c = text[pos + i];
        if (!isDigit(c))
            return false;
        value = value * 10 + (c - '0');
    }
    return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
qint64 daysFromCivil(qint64 y, int m, int d)
{
    y -= m <= 2;
    const qint64 era = (y >= 0 ? y : y - 399) / 400;
    const qint64 yoe = y - era * 400;
    const qint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const qint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool isValidDateTime(int year, int month, int day, int hour, int minute, int second)
{
    static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1
        || day > kDaysInMonth[month - 1])
        return false;
    const bool isLeap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !isLeap)
        return false;
    return hour <= 23 && minute <= 59 && second <= 60; // 60: a leap second
}

qint64 epochMs(int year, int month, int day, int hour, int minute, int second)
{
    return (daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second) * 1000;
}

// RFC 3339 date-time, as in anthropic-ratelimit-*-reset: 2026-05-01T12:00:30Z,
// 2026-05-01T14:00:30.250+02:00. Milliseconds since the epoch, or nothing.
std::optional<qint64> parseRfc3339(QByteArrayView text)
{
    text = trimmedView(text);
    int year, month, day, hour, minute, second;
    if (text.size() < 20 || !readDigits(text, 0, 4, year) || text[4] != '-'
        || !readDigits(text, 5, 2, month) || text[7] != '-' || !readDigits(text, 8, 2, day)
        || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !readDigits(text, 11, 2, hour)
        || text[13] != ':' || !readDigits(text, 14, 2, minute) || text[16] != ':'
        || !readDigits(text, 17, 2, second))
        return std::nullopt;
    if (!isValidDateTime(year, month, day, hour, minute, second))
        return std::nullopt;
    qsizetype pos = 19;
    int millis = 0;
    if (text[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < text.size() && isDigit(text[pos])) {
            if (digits < 3)
                millis = millis * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0)
            return std::nullopt;
        for (; digits < 3; ++digits)
            millis *= 10;
    }
    if (pos >= text.size())
        return std::nullopt;
    int offsetMinutes = 0;
    const char zone = text[pos];
    if (zone == 'Z' || zone == 'z') {
        ++pos;
    } else if (zone == '+' || zone == '-') {
        int offsetHours, offsetMins;
        if (!readDigits(text, pos + 1, 2, offsetHours) || pos + 3 >= text.size()
            || text[pos + 3] != ':' || !readDigits(text, pos + 4, 2, offsetMins) || offsetHours > 23
            || offsetMins > 59)
            return std::nullopt;
        offsetMinutes = (offsetHours * 60 + offsetMins) * (zone == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != text.size())
        return std::nullopt;
    return epochMs(year, month, day, hour, minute, second) + millis
        - qint64(offsetMinutes) * 60 * 1000;
}

int monthFromName(QByteArrayView name)
{
    static constexpr const char *kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; ++i) {
        if (equalsCi(name, QByteArrayView(kMonths[i], 3)))
            return i + 1;
    }
    return 0;
}

bool isWeekdayName(QByteArrayView name)
{
    static constexpr const char *kDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                            "friday", "saturday", "sunday"};
    for (const char *day : kDays) {
        const QByteArrayView full(day);
        if (equalsCi(name, full) || equalsCi(name, full.first(3)))
            return true;
    }
    return false;
}

// HTTP-date (RFC 9110 5.6.7) in its three forms: IMF-fixdate "Sun, 06 Nov 1994 08:49:37
// GMT", the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6
// 08:49:37 1994". Milliseconds since the epoch, or nothing.
std::optional<qint64> parseHttpDate(QByteArrayView text)
{
    int day = -1, month = 0, year = -1, hour = -1, minute = -1, second = -1;
    bool hasWeekday = false, hasZone = false;
    qsizetype pos = 0;
    while (pos < text.size()) {
        const char c = text[pos];
        if (c == ' ' || c == ',' || c == '-' || c == '\t') {
            ++pos;
            continue;
        }
        qsizetype end = pos;
        while (end < text.size() && text[end] != ' ' && text[end] != ',' && text[end] != '-'
               && text[end] != '\t')
            ++end;
        const QByteArrayView token = text.sliced(pos, end - pos);
        pos = end;
        if (isAlpha(token.front())) {
            if (month == 0 && token.size() == 3 && monthFromName(token) != 0) {
                month = monthFromName(token);
            } else if (!hasWeekday && isWeekdayName(token)) {
                hasWeekday = true;
            } else if (!hasZone && (equalsCi(token, "GMT") || equalsCi(token, "UTC"))) {
                hasZone = true;
            } else {
                return std::nullopt;
            }
        } else if (token.size() == 8 && token[2] == ':' && token[5] == ':') {
            if (hour >= 0 || !readDigits(token, 0, 2, hour) || !readDigits(token, 3, 2, minute)
                || !readDigits(token, 6, 2, second))
                return std::nullopt;
        } else if (day < 0 && token.size() <= 2) {
            if (!readDigits(token, 0, int(token.size()), day))
                return std::nullopt;
        } else if (year < 0 && (token.size() == 4 || token.size() == 2)) {
            if (!readDigits(token, 0, int(token.size()), year))
                return std::nullopt;
            if (token.size() == 2)
                year += year >= 70 ? 1900 : 2000;
        } else {
            return std::nullopt;
        }
    }
    if (day < 0 || month == 0 || year < 0 || hour < 0
        || !isValidDateTime(year, month, day, hour, minute, second))
        return std::nullopt;
    return epochMs(year, month, day, hour, minute, second);
}

// retry-after: delay-seconds (a fraction is tolerated, as the SDKs do) or an HTTP-date.
// The delay in microseconds, or nothing when malformed or not placeable in time.
std::optional<qint64> parseRetryAfter(QByteArrayView text, std::optional<qint64> referenceMs)
{
    text = trimmedView(text);
    if (text.isEmpty())
        return std::nullopt;
    if (isDigit(text.front())) {
        qint64 seconds = 0;
        qsizetype pos = 0;
        for (; pos < text.size() && isDigit(text[pos]); ++pos)
            seconds = std::min<qint64>(seconds * 10 + (text[pos] - '0'), 1000LL * 1000 * 1000);
        qint64 fractionUs = 0;
        if (pos < text.size() && text[pos] == '.') {
            const qsizetype fractionStart = ++pos;
            qint64 scale = 100000;
            for (; pos < text.size() && isDigit(text[pos]); ++pos) {
                fractionUs += (text[pos] - '0') * scale;
                scale /= 10;
            }
            if (pos == fractionStart)
                return std::nullopt;
        }
        if (pos != text.size())
            return std::nullopt;
        return seconds * kSecondUs + fractionUs;
    }
    const std::optional<qint64> dateMs = parseHttpDate(text);
    if (!dateMs || !referenceMs)
        return std::nullopt;
    return std::max<qint64>(0, (*dateMs - *referenceMs) * 1000);
}

// "requests-limit" -> (Requests, Limit); the family prefixes are checked longest first so
// "input-tokens-" is not taken for "tokens-".
bool classify(QByteArrayView suffix, Family &family, Field &field)
{
    static constexpr struct
    {
        QByteArrayView prefix;
        Family family;
    } kFamilies[] = {{"requests-", Requests},
                     {"input-tokens-", InputTokens},
                     {"output-tokens-", OutputTokens},
                     {"tokens-", Tokens}};
    for (const auto &f : kFamilies) {
        if (!startsWithCi(suffix, f.prefix))
            continue;
        const QByteArrayView rest = suffix.sliced(f.prefix.size());
        family = f.family;
        field = equalsCi(rest, "limit")   ? Limit
            : equalsCi(rest, "remaining") ? Remaining
            : equalsCi(rest, "reset")     ? Reset
                                          : NoField;
        return field != NoField;
    }
    return false;
}

KeyPool::RateLimit &familyOf(KeyPool::RateLimits &limits, int family)
{
    switch (family) {
    case Requests:
        return limits.requests;
    case Tokens:
        return limits.tokens;
    case InputTokens:
        return limits.inputTokens;
    default:
        return limits.outputTokens;
    }
}

const KeyPool::RateLimit &familyOf(const KeyPool::RateLimits &limits, int family)
{
    return familyOf(const_cast<KeyPool::RateLimits &>(limits), family);
}

qint64 backoffUs(int level, qint64 maxUs)
{
    return std::min(kSecondUs << std::min(level, kMaxBackoffLevel), maxUs);
}

QString secondsText(qint64 us)
{
    return QString::number((us + kSecondUs - 1) / kSecondUs);
}

} // namespace

// ---- RetryBudget ----

KeyPool::RetryBudget::RetryBudget(int maxKeys)
    : m_maxKeys(std::clamp(maxKeys, 1, kMaxKeysPerRequest))
{
}

bool KeyPool::RetryBudget::hasTried(quint32 keyId) const
{
    return std::find(m_tried.begin(), m_tried.begin() + m_count, keyId)
        != m_tried.begin() + m_count;
}

void KeyPool::RetryBudget::recordAttempt(const Pick &pick)
{
    if (pick.isValid() && !hasTried(pick.keyId) && m_count < kMaxKeysPerRequest)
        m_tried[m_count++] = pick.keyId;
}

bool KeyPool::RetryBudget::allowsRetry(int status, bool hasSentBytesToClient) const
{
    return !hasSentBytesToClient && shouldRetry(status) && m_count < m_maxKeys;
}

// ---- keys ----

bool KeyPool::addKey(const QString &alias, const QByteArray &secret, bool isEnabled)
{
    if (alias.isEmpty() || contains(alias))
        return false;
    Key key;
    key.id = m_nextId++;
    key.alias = alias;
    key.secret = secret;
    key.isEnabled = isEnabled;
    m_keys.append(std::move(key));
    return true;
}

bool KeyPool::removeKey(const QString &alias)
{
    for (qsizetype i = 0; i < m_keys.size(); ++i) {
        if (m_keys[i].alias != alias)
            continue;
        m_keys.removeAt(i);
        if (i < m_cursor)
            --m_cursor;
        if (m_cursor >= m_keys.size())
            m_cursor = 0;
        // Sessions on the removed key find no key for their id and move on their next pick.
        return true;
    }
    return false;
}

bool KeyPool::replaceSecret(const QString &alias, const QByteArray &secret)
{
    Key *key = findKey(alias);
    if (!key)
        return false;
    key->secret = secret;
    if (!key->disabledReason.isEmpty()) // disabled by the upstream, not by the user
        key->isEnabled = true;
    key->disabledReason.clear();
    resetHealth(*key);
    key->lastLimitedUs.reset();
    key->lastStatus = -1;
    key->limits = RateLimits();
    return true;
}

bool KeyPool::setEnabled(const QString &alias, bool isEnabled)
{
    Key *key = findKey(alias);
    if (!key)
        return false;
    if (isEnabled && !key->isEnabled)
        resetHealth(*key);
    key->isEnabled = isEnabled;
    key->disabledReason.clear();
    return true;
}

bool KeyPool::contains(const QString &alias) const
{
    return findKey(alias) != nullptr;
}

int KeyPool::enabledKeyCount() const
{
    return int(std::count_if(m_keys.cbegin(), m_keys.cend(),
                             [](const Key &key) { return key.isEnabled; }));
}

QStringList KeyPool::aliases() const
{
    QStringList out;
    out.reserve(m_keys.size());
    for (const Key &key : m_keys)
        out.append(key.alias);
    return out;
}

void KeyPool::setSessionAffinity(bool isOn)
{
    m_hasAffinity = isOn;
    if (!isOn)
        m_sessions.clear();
}

void KeyPool::setAffinityBounds(int maxSessions, qint64 idleUs)
{
    m_maxSessions = std::max(1, maxSessions);
    m_sessionIdleUs = std::max<qint64>(0, idleUs);
}

KeyPool::Key *KeyPool::findKey(const QString &alias)
{
    for (Key &key : m_keys) {
        if (key.alias == alias)
            return &key;
    }
    return nullptr;
}

const KeyPool::Key *KeyPool::findKey(const QString &alias) const
{
    return const_cast<KeyPool *>(this)->findKey(alias);
}

qsizetype KeyPool::indexOfId(quint32 keyId) const
{
    for (qsizetype i = 0; i < m_keys.size(); ++i) {
        if (m_keys[i].id == keyId)
            return i;
    }
    return -1;
}

// ---- picking ----

KeyPool::RetryBudget KeyPool::retryBudget() const
{
    return RetryBudget(enabledKeyCount());
}

KeyPool::Pick KeyPool::pick(qint64 nowUs, const QByteArray &sessionId, const RetryBudget *tried)
{
    if (!m_hasAffinity || sessionId.isEmpty()) {
        const qsizetype index = chooseIndex(nowUs, tried);
        return index < 0 ? noKey(nowUs, tried) : makePick(index);
    }
    // Prompt caches belong to the organisation behind a key: keeping a session on one key
    // keeps its cache hits. It moves only when that key cannot take the request.
    auto it = m_sessions.find(sessionId);
    if (it != m_sessions.end() && nowUs - it->lastUsedUs <= m_sessionIdleUs) {
        const qsizetype index = indexOfId(it->keyId);
        if (index >= 0 && m_keys[index].isUsable(nowUs) && !(tried && tried->hasTried(it->keyId))) {
            it->lastUsedUs = nowUs;
            return makePick(index);
        }
    }
    const qsizetype index = chooseIndex(nowUs, tried);
    if (index < 0)
        return noKey(nowUs, tried);
    if (it != m_sessions.end()) {
        it->keyId = m_keys[index].id;
        it->lastUsedUs = nowUs;
    } else {
        rememberSession(sessionId, m_keys[index].id, nowUs);
    }
    return makePick(index);
}

qsizetype KeyPool::chooseIndex(qint64 nowUs, const RetryBudget *tried)
{
    const qsizetype count = m_keys.size();
    qsizetype best = -1;
    for (qsizetype step = 0; step < count; ++step) {
        const qsizetype index = (m_cursor + step) % count;
        const Key &key = m_keys[index];
        if (!key.isUsable(nowUs) || (tried && tried->hasTried(key.id)))
            continue;
        if (m_strategy == Strategy::RoundRobin) {
            best = index;
            break;
        }
        // Never limited sorts first (an empty optional is less than any value); ties keep
        // the round-robin order, so equally good keys still share the load.
        if (best < 0 || key.lastLimitedUs < m_keys[best].lastLimitedUs)
            best = index;
    }
    if (best >= 0)
        m_cursor = (best + 1) % count;
    return best;
}

KeyPool::Pick KeyPool::makePick(qsizetype index)
{
    const Key &key = m_keys[index];
    Pick pick;
    pick.keyId = key.id;
    pick.alias = key.alias;
    pick.secret = key.secret;
    return pick;
}

KeyPool::Pick KeyPool::noKey(qint64 nowUs, const RetryBudget *tried) const
{
    Pick pick;
    for (const Key &key : m_keys) {
        if (!key.isEnabled || (tried && tried->hasTried(key.id)))
            continue;
        const qint64 availableAt = key.isCooling ? std::max(key.coolingUntilUs, nowUs) : nowUs;
        if (!pick.availableAtUs || availableAt < *pick.availableAtUs)
            pick.availableAtUs = availableAt;
    }
    return pick;
}

void KeyPool::adoptHealth(const KeyPool &other)
{
    QHash<quint32, quint32> ids; // other's key id -> this pool's
    for (Key &key : m_keys) {
        const Key *theirs = other.findKey(key.alias);
        if (!theirs || theirs->secret != key.secret)
            continue;
        const quint32 id = key.id;
        key = *theirs;
        key.id = id;
        ids.insert(theirs->id, id);
    }
    if (!m_hasAffinity)
        return;
    for (auto it = other.m_sessions.cbegin(); it != other.m_sessions.cend(); ++it) {
        const auto id = ids.constFind(it->keyId);
        if (id != ids.cend() && !m_sessions.contains(it.key()))
            m_sessions.insert(it.key(), {*id, it->lastUsedUs});
    }
}

void KeyPool::rememberSession(const QByteArray &sessionId, quint32 keyId, qint64 nowUs)
{
    if (m_sessions.size() >= m_maxSessions)
        trimSessions(nowUs);
    m_sessions.insert(sessionId, Session {keyId, nowUs});
}

void KeyPool::trimSessions(qint64 nowUs)
{
    m_sessions.removeIf(
        [&](const auto &entry) { return nowUs - entry.value().lastUsedUs > m_sessionIdleUs; });
    if (m_sessions.size() < m_maxSessions)
        return;
    // Still full of live sessions: drop the least recently used eighth in one pass, so a
    // full table costs one sort per many new sessions, not a scan per new session.
    const qsizetype keep = m_maxSessions - std::max(1, m_maxSessions / 8);
    const qsizetype drop = m_sessions.size() - keep;
    std::vector<qint64> lastUsed;
    lastUsed.reserve(size_t(m_sessions.size()));
    for (auto it = m_sessions.cbegin(); it != m_sessions.cend(); ++it)
        lastUsed.push_back(it->lastUsedUs);
    std::nth_element(lastUsed.begin(), lastUsed.begin() + (drop - 1), lastUsed.end());
    const qint64 threshold = lastUsed[size_t(drop - 1)];
    m_sessions.removeIf(
        [threshold](const auto &entry) { return entry.value().lastUsedUs <= threshold; });
}

// ---- responses ----

bool KeyPool::shouldRetry(int status)
{
    return status == kConnectFailure || status == 401 || status == 402 || status == 403
        || status == 429 || (status >= 500 && status <= 599);
}

void KeyPool::reportResponse(const QString &alias, int status, const HeaderList &headers,
                             qint64 nowUs, qint64 wallNowMs)
{
    Key *key = findKey(alias);
    if (!key)
        return;
    key->lastStatus = status;

    // One pass over the headers; nothing is allocated (values are shared, not copied).
    RateLimit fresh[FamilyCount];
    bool isFamilySeen[FamilyCount] = {};
    bool isUnifiedSeen = false;
    QByteArrayView retryAfter;
    std::optional<qint64> referenceMs;
    for (const HeaderList::Field &field : headers.fields()) {
        const QByteArrayView name(field.name);
        if (startsWithCi(name, kRateLimitPrefix)) {
            const QByteArrayView suffix = name.sliced(kRateLimitPrefix.size());
            if (startsWithCi(suffix, kUnifiedPrefix)) {
                if (!isUnifiedSeen)
                    key->limits.unified.clear();
                isUnifiedSeen = true;
                key->limits.unified.append(field.name, field.value);
                continue;
            }
            Family family;
            Field which;
            if (!classify(suffix, family, which))
                continue;
            isFamilySeen[family] = true;
            if (which == Limit)
                fresh[family].limit = parseCount(field.value);
            else if (which == Remaining)
                fresh[family].remaining = parseCount(field.value);
            else
                fresh[family].resetAtMs = parseRfc3339(field.value).value_or(-1);
        } else if (equalsCi(name, "retry-after")) {
            retryAfter = field.value;
        } else if (equalsCi(name, "date")) {
            // The server's clock is the one its reset times are on: measuring them from its
            // Date header makes a skewed local clock irrelevant.
            referenceMs = parseHttpDate(field.value);
        }
    }
    if (!referenceMs && wallNowMs >= 0)
        referenceMs = wallNowMs;

    std::optional<qint64> earliestResetUs; // of the families this response shows exhausted
    for (int family = 0; family < FamilyCount; ++family) {
        if (!isFamilySeen[family])
            continue;
        RateLimit &limit = fresh[family];
        if (limit.resetAtMs >= 0 && referenceMs)
            limit.resetAtUs = nowUs + (limit.resetAtMs - *referenceMs) * 1000;
        if (limit.remaining == 0 && limit.resetAtUs && *limit.resetAtUs > nowUs
            && (!earliestResetUs || *limit.resetAtUs < *earliestResetUs))
            earliestResetUs = limit.resetAtUs;
        familyOf(key->limits, family) = limit;
    }
    if (isUnifiedSeen
        || std::any_of(std::begin(isFamilySeen), std::end(isFamilySeen),
                       [](bool seen) { return seen; }))
        key->limits.updatedUs = nowUs;

    if (status == 401 || status == 402 || status == 403) {
        disable(*key, status, nowUs);
    } else if (status == 429 || status == 529) {
        key->lastLimitedUs = nowUs;
        const QString what =
            status == 429 ? tr("Rate limited (HTTP 429)") : tr("Overloaded (HTTP 529)");
        qint64 delayUs;
        QString how;
        if (const auto hinted = parseRetryAfter(retryAfter, referenceMs)) {
            delayUs = std::clamp(*hinted, kMinCoolDownUs, kMaxHintedCoolDownUs);
            how = tr("retry-after %1 s").arg(secondsText(delayUs));
        } else if (earliestResetUs) {
            delayUs = std::clamp(*earliestResetUs - nowUs, kMinCoolDownUs, kMaxHintedCoolDownUs);
            how = tr("until its rate limit resets");
        } else {
            delayUs = backoffUs(key->limitLevel, kLimitBackoffMaxUs);
            how = tr("backing off %1 s").arg(secondsText(delayUs));
        }
        key->limitLevel = std::min(key->limitLevel + 1, kMaxBackoffLevel);
        coolDown(*key, nowUs + delayUs, status, what + QStringLiteral("; ") + how, nowUs);
    } else if (status >= 500) {
        const qint64 delayUs = backoffUs(key->failureLevel, kFailureBackoffMaxUs);
        key->failureLevel = std::min(key->failureLevel + 1, kMaxBackoffLevel);
        coolDown(*key, nowUs + delayUs, status,
                 tr("Server error (HTTP %1); pausing %2 s").arg(status).arg(secondsText(delayUs)),
                 nowUs);
    } else {
        // Any other answer (2xx, 3xx, 400, 404, 413, ...) proves the key itself works.
        recordSuccess(*key, nowUs);
    }
}

void KeyPool::reportFailure(const QString &alias, qint64 nowUs)
{
    Key *key = findKey(alias);
    if (!key)
        return;
    key->lastStatus = kConnectFailure;
    const qint64 delayUs = backoffUs(key->failureLevel, kFailureBackoffMaxUs);
    key->failureLevel = std::min(key->failureLevel + 1, kMaxBackoffLevel);
    coolDown(*key, nowUs + delayUs, kConnectFailure,
             tr("Connection failed; pausing %1 s").arg(secondsText(delayUs)), nowUs);
}

void KeyPool::resetHealth(Key &key)
{
    key.isCooling = false;
    key.coolingUntilUs = 0;
    key.isTroubled = false;
    key.coolDownReason.clear();
    key.limitLevel = 0;
    key.failureLevel = 0;
}

void KeyPool::coolDown(Key &key, qint64 untilUs, int status, const QString &reason, qint64 nowUs)
{
    // A cool-down only ever grows: answers to concurrent requests arrive in any order, and
    // a short pause must not cut short a longer one the server asked for.
    const bool isActive = key.isCooling && nowUs < key.coolingUntilUs;
    if (isActive && untilUs <= key.coolingUntilUs)
        return;
    key.isCooling = true;
    key.coolingUntilUs = untilUs;
    key.isTroubled = true;
    key.coolDownReason = reason;
    emitEvent(Event::Kind::CoolingDown, key, status, nowUs, untilUs);
}

void KeyPool::disable(Key &key, int status, qint64 nowUs)
{
    if (!key.isEnabled)
        return;
    static constexpr const char *kTypes[] = {"authentication_error", "billing_error",
                                             "permission_error"};
    key.isEnabled = false;
    key.disabledReason =
        tr("The upstream refused this key (HTTP %1 %2). Check or replace the key, then turn it "
           "on again.")
            .arg(status)
            .arg(QLatin1String(kTypes[std::clamp(status - 401, 0, 2)]));
    emitEvent(Event::Kind::Disabled, key, status, nowUs);
}

void KeyPool::recordSuccess(Key &key, qint64 nowUs)
{
    key.limitLevel = 0;
    key.failureLevel = 0;
    // An answer to a request sent before the cool-down began says nothing about now: the
    // key recovers with the first success once its cool-down is over.
    if (!key.isTroubled || (key.isCooling && nowUs < key.coolingUntilUs))
        return;
    key.isTroubled = false;
    key.isCooling = false;
    key.coolDownReason.clear();
    emitEvent(Event::Kind::Recovered, key, key.lastStatus, nowUs);
}

void KeyPool::emitEvent(Event::Kind kind, const Key &key, int status, qint64 nowUs, qint64 untilUs)
{
    if (!m_eventHandler)
        return;
    Event event;
    event.kind = kind;
    event.alias = key.alias;
    event.status = status;
    event.atUs = nowUs;
    event.untilUs = untilUs;
    if (kind == Event::Kind::Disabled)
        event.reason = key.disabledReason;
    else if (kind == Event::Kind::CoolingDown)
        event.reason = key.coolDownReason;
    else
        event.reason = tr("Working again");
    m_eventHandler(event);
}

// ---- snapshots ----

KeyPool::KeySnapshot KeyPool::snapshotOf(const Key &key, qint64 nowUs) const
{
    KeySnapshot out;
    out.alias = key.alias;
    out.isEnabled = key.isEnabled;
    out.lastLimitedUs = key.lastLimitedUs;
    out.lastStatus = key.lastStatus;
    out.limits = key.limits;
    if (!key.isEnabled) {
        out.state = State::Disabled;
        out.reason = key.disabledReason.isEmpty() ? tr("Turned off") : key.disabledReason;
    } else if (key.isCooling && nowUs < key.coolingUntilUs) {
        out.state = State::CoolingDown;
        out.reason = key.coolDownReason;
        out.coolingUntilUs = key.coolingUntilUs;
    }
    return out;
}

std::optional<KeyPool::KeySnapshot> KeyPool::keySnapshot(const QString &alias, qint64 nowUs) const
{
    const Key *key = findKey(alias);
    if (!key)
        return std::nullopt;
    return snapshotOf(*key, nowUs);
}

QList<KeyPool::KeySnapshot> KeyPool::snapshot(qint64 nowUs) const
{
    QList<KeySnapshot> out;
    out.reserve(m_keys.size());
    for (const Key &key : m_keys)
        out.append(snapshotOf(key, nowUs));
    return out;
}

KeyPool::Headroom KeyPool::headroom(qint64 nowUs) const
{
    Headroom out;
    Headroom::Sum *sums[FamilyCount] = {&out.requests, &out.tokens, &out.inputTokens,
                                        &out.outputTokens};
    for (const Key &key : m_keys) {
        if (!key.isUsable(nowUs))
            continue;
        ++out.healthyKeys;
        for (int family = 0; family < FamilyCount; ++family) {
            const RateLimit &limit = familyOf(key.limits, family);
            if (limit.limit < 0 && limit.remaining < 0)
                continue;
            // Past its reset a limit is whole again, whatever the last response said.
            const bool isReset = limit.resetAtUs && nowUs >= *limit.resetAtUs;
            const qint64 remaining = isReset && limit.limit >= 0 ? limit.limit : limit.remaining;
            Headroom::Sum &sum = *sums[family];
            sum.remaining += std::max<qint64>(0, remaining);
            sum.limit += std::max<qint64>(0, limit.limit);
            ++sum.keysReporting;
        }
    }
    return out;
}

} // namespace tollgate
