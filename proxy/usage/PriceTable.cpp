#include "PriceTable.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonValue>
#include <QLocale>
#include <QLoggingCategory>
#include <QSet>
#include <QtNumeric>
#include <algorithm>
#include <charconv>

namespace tollgate {

namespace {

Q_LOGGING_CATEGORY(lcPrices, "tollgate.prices")

constexpr qint64 kPicoPerUsd = 1'000'000'000'000;
// Token prices are in USD per million tokens, so one pico-USD per token is $0.000001/MTok:
// a token price may have at most 6 decimal places.
constexpr int kTokenPriceScale = 6;
// Web search is priced in USD per 1,000 searches, so one pico-USD per search is 10^-9
// USD per 1,000.
constexpr int kSearchPriceScale = 9;
// $1,000 per token or per search: far above any real price, and low enough that deriving
// cache prices from it cannot leave int64.
constexpr qint64 kMaxRate = 1000 * kPicoPerUsd;

// Field names of prices.json and of the config's price overrides. Constant-initialised, so
// they are usable even from another translation unit's static initialisation.
constexpr QLatin1String kInput("input");
constexpr QLatin1String kOutput("output");
constexpr QLatin1String kCacheWrite5m("cache_write_5m");
constexpr QLatin1String kCacheWrite1h("cache_write_1h");
constexpr QLatin1String kCacheRead("cache_read");
constexpr QLatin1String kWebSearch("web_search_per_1k");
constexpr QLatin1String kFast("fast");
constexpr QLatin1String kDataResidency("data_residency_premium");
constexpr QLatin1String kAliases("aliases");
constexpr QLatin1String kName("name");
constexpr QLatin1String kStatus("status");
constexpr QLatin1String kNote("note");
constexpr QLatin1String kDate("date");
constexpr QLatin1String kSource("source");
constexpr QLatin1String kConfigSource("config");

bool isAsciiDigit(QChar c)
{
    return c >= u'0' && c <= u'9';
}

// value * numerator / denominator, rounded half-up to a whole pico-USD. Empty when the
// value is missing or the product leaves int64.
std::optional<qint64> scaled(std::optional<qint64> value, qint64 numerator, qint64 denominator)
{
    qint64 product = 0;
    qint64 biased = 0;
    if (!value || qMulOverflow(*value, numerator, &product)
        || qAddOverflow(product, denominator / 2, &biased))
        return std::nullopt;
    return biased / denominator;
}

// count tokens (or searches) at rate pico-USD each. Empty for a negative count, which no
// real usage report has, and for a product beyond int64 (9.2 million USD).
std::optional<qint64> times(qint64 count, qint64 rate)
{
    qint64 product = 0;
    if (count < 0 || qMulOverflow(count, rate, &product))
        return std::nullopt;
    return product;
}

std::optional<qint64> plus(std::optional<qint64> a, std::optional<qint64> b)
{
    qint64 sum = 0;
    if (!a || !b || qAddOverflow(*a, *b, &sum))
        return std::nullopt;
    return sum;
}

bool checkKeys(const QJsonObject &object, const QSet<QString> &allowed, const QString &where,
               QString *error)
{
    for (auto it = object.constBegin(); it != object.constEnd(); ++it) {
        if (!allowed.contains(it.key())) {
            *error = QStringLiteral("%1: unknown field \"%2\"").arg(where, it.key());
            return false;
        }
    }
    return true;
}

struct PriceField
{
    bool isPresent = false;
    qint64 value = 0;
};

// object[key] as a price: a decimal string ("0.30") or a JSON number. A number is read
// through its shortest decimal form, so 0.3 means exactly 0.3, not the nearest double.
bool readPrice(const QJsonObject &object, QLatin1String key, int scale, const QString &where,
               PriceField *field, QString *error)
{
    const QJsonValue value = object.value(key);
    if (value.isUndefined())
        return true;
    QString text;
    if (value.isString())
        text = value.toString();
    else if (value.isDouble())
        text = QString::number(value.toDouble(), 'g', QLocale::FloatingPointShortest);
    else {
        *error = QStringLiteral("%1: %2 must be a decimal string such as \"0.30\"").arg(where, key);
        return false;
    }
    const std::optional<qint64> parsed = PriceTable::parseScaledDecimal(text, scale);
    if (!parsed || *parsed > kMaxRate) {
        *error = QStringLiteral("%1: %2 \"%3\" is not a USD price with at most %4 decimal places")
                     .arg(where, key, text)
                     .arg(scale);
        return false;
    }
    field->isPresent = true;
    field->value = *parsed;
    return true;
}

// One tier's token prices. Without a base, input and output are required; with one, the
// object's fields replace the base's. A cache price the object leaves out follows the
// input price ("5-minute cache write 1.25x base input, 1-hour 2x, cache read 0.1x") unless
// the input price comes from the base, whose own cache prices then stay.
bool readRates(const QJsonObject &object, const QString &where, const TokenRates *base,
               bool requireAll, TokenRates *rates, QString *error)
{
    PriceField input, output, write5m, write1h, read;
    const std::pair<QLatin1String, PriceField *> fields[] = {
        {kInput, &input},          {kOutput, &output},  {kCacheWrite5m, &write5m},
        {kCacheWrite1h, &write1h}, {kCacheRead, &read},
    };
    for (const auto &[key, field] : fields) {
        if (!readPrice(object, key, kTokenPriceScale, where, field, error))
            return false;
        if (!field->isPresent && (requireAll || (!base && (key == kInput || key == kOutput)))) {
            *error = QStringLiteral("%1: %2 price is missing").arg(where, key);
            return false;
        }
    }
    rates->input = input.isPresent ? input.value : base->input;
    rates->output = output.isPresent ? output.value : base->output;
    const bool derive = input.isPresent || !base;
    rates->cacheWrite5m = write5m.isPresent
        ? write5m.value
        : (derive ? *scaled(rates->input, 5, 4) : base->cacheWrite5m);
    rates->cacheWrite1h =
        write1h.isPresent ? write1h.value : (derive ? rates->input * 2 : base->cacheWrite1h);
    rates->cacheRead =
        read.isPresent ? read.value : (derive ? *scaled(rates->input, 1, 10) : base->cacheRead);
    return true;
}

bool readString(const QJsonObject &object, QLatin1String key, const QString &where, QString *text,
                QString *error)
{
    const QJsonValue value = object.value(key);
    if (value.isUndefined())
        return true;
    if (!value.isString() || value.toString().trimmed().isEmpty()) {
        *error = QStringLiteral("%1: %2 must be a non-empty string").arg(where, key);
        return false;
    }
    *text = value.toString().trimmed();
    return true;
}

enum class EntryMode {
    PriceList, // prices.json: every field present
    Override, // the user's config: fields left out are kept or derived
};

// The token, search and fast-mode prices and the data-residency flag of one entry.
bool readPrices(const QJsonObject &object, const QString &where, EntryMode mode, bool hasBase,
                ModelPrice *price, QString *error)
{
    static const QSet<QString> fastKeys = {kInput, kOutput, kCacheWrite5m, kCacheWrite1h,
                                           kCacheRead};
    const bool requireAll = mode == EntryMode::PriceList;
    TokenRates standard;
    const TokenRates baseStandard = price->standardRates();
    if (!readRates(object, where, hasBase ? &baseStandard : nullptr, requireAll, &standard, error))
        return false;
    price->input = standard.input;
    price->output = standard.output;
    price->cacheWrite5m = standard.cacheWrite5m;
    price->cacheWrite1h = standard.cacheWrite1h;
    price->cacheRead = standard.cacheRead;

    PriceField search;
    if (!readPrice(object, kWebSearch, kSearchPriceScale, where, &search, error))
        return false;
    if (search.isPresent)
        price->webSearchPerRequest = search.value;
    else if (requireAll) {
        *error = QStringLiteral("%1: %2 price is missing").arg(where, kWebSearch);
        return false;
    }

    const QJsonValue fast = object.value(kFast);
    if (fast.isObject()) {
        const QString fastWhere = where + QStringLiteral(" fast mode");
        const QJsonObject fastObject = fast.toObject();
        if (!checkKeys(fastObject, fastKeys, fastWhere, error))
            return false;
        TokenRates fastRates;
        const std::optional<TokenRates> baseFast = price->fast;
        if (!readRates(fastObject, fastWhere, baseFast ? &*baseFast : nullptr, requireAll,
                       &fastRates, error))
            return false;
        price->fast = fastRates;
    } else if (fast.isNull()) {
        price->fast.reset(); // a user's `"fast": null` removes the fast-mode rates
    } else if (!fast.isUndefined()) {
        *error = QStringLiteral("%1: fast must be an object of prices").arg(where);
        return false;
    }

    const QJsonValue residency = object.value(kDataResidency);
    if (residency.isBool())
        price->hasDataResidencyPremium = residency.toBool();
    else if (!residency.isUndefined() || requireAll) {
        *error = QStringLiteral("%1: %2 must be true or false").arg(where, kDataResidency);
        return false;
    }
    return true;
}

// Adds the entry's aliases to the model's, skipping repeats and the model's own id.
bool readAliases(const QJsonObject &object, const QString &where, ModelPrice *price, QString *error)
{
    const QJsonValue aliases = object.value(kAliases);
    if (aliases.isUndefined())
        return true;
    if (!aliases.isArray()) {
        *error = QStringLiteral("%1: aliases must be a list of model ids").arg(where);
        return false;
    }
    for (const QJsonValue &alias : aliases.toArray()) {
        const QString name = alias.toString();
        if (!alias.isString() || name.isEmpty() || name != name.trimmed()) {
            *error = QStringLiteral("%1: aliases must be model ids").arg(where);
            return false;
        }
        if (name.compare(price->id, Qt::CaseInsensitive) != 0
            && !price->aliases.contains(name, Qt::CaseInsensitive))
            price->aliases.append(name);
    }
    return true;
}

// The entry's name, its free-text status and note, and where and when its price was read.
bool readProvenance(const QJsonObject &object, const QString &where, EntryMode mode, bool hasBase,
                    ModelPrice *price, QString *error)
{
    const bool requireAll = mode == EntryMode::PriceList;
    QString status, note;
    if (!readString(object, kName, where, &price->name, error)
        || !readString(object, kStatus, where, &status, error)
        || !readString(object, kNote, where, &note, error))
        return false;

    // A user's price is the user's: unless the entry names its own source, it is marked as
    // coming from the config, undated, so nobody mistakes it for Anthropic's list price.
    const bool changesPrices = object.contains(kInput) || object.contains(kOutput)
        || object.contains(kCacheWrite5m) || object.contains(kCacheWrite1h)
        || object.contains(kCacheRead) || object.contains(kWebSearch) || object.contains(kFast)
        || object.contains(kDataResidency);
    if (mode == EntryMode::Override && (changesPrices || !hasBase)) {
        price->source = kConfigSource;
        price->date = QDate();
    }
    if (!readString(object, kSource, where, &price->source, error))
        return false;
    if (requireAll && !object.contains(kSource)) {
        *error = QStringLiteral("%1: source is missing").arg(where);
        return false;
    }
    const QJsonValue date = object.value(kDate);
    if (!date.isUndefined()) {
        price->date = QDate::fromString(date.toString(), Qt::ISODate);
        if (!price->date.isValid()) {
            *error = QStringLiteral("%1: date must be YYYY-MM-DD").arg(where);
            return false;
        }
    } else if (requireAll) {
        *error = QStringLiteral("%1: date is missing").arg(where);
        return false;
    }
    return true;
}

// One model's entry. With a base (a known model overridden by the user), what the entry
// leaves out keeps the base's value.
bool readEntry(const QString &id, const QJsonValue &value, EntryMode mode, const ModelPrice *base,
               ModelPrice *price, QString *error)
{
    static const QSet<QString> entryKeys = {
        kName,         kStatus,    kNote,      kAliases, kInput,         kOutput, kCacheWrite5m,
        kCacheWrite1h, kCacheRead, kWebSearch, kFast,    kDataResidency, kDate,   kSource};
    const QString where = QStringLiteral("model \"%1\"").arg(id);
    if (id.trimmed().isEmpty() || id != id.trimmed()) {
        *error = QStringLiteral("%1: a model id must be non-empty, without surrounding spaces")
                     .arg(where);
        return false;
    }
    if (!value.isObject()) {
        *error = QStringLiteral("%1 must be an object of prices").arg(where);
        return false;
    }
    const QJsonObject object = value.toObject();
    if (!checkKeys(object, entryKeys, where, error))
        return false;
    *price = base ? *base : ModelPrice();
    if (!base)
        price->id = id;
    return readPrices(object, where, mode, base != nullptr, price, error)
        && readAliases(object, where, price, error)
        && readProvenance(object, where, mode, base != nullptr, price, error);
}

} // namespace

PriceTable PriceTable::builtIn()
{
    // Parsed once per process: the embedded list cannot change while it runs.
    static const PriceTable table = [] {
        PriceTable prices;
        QFile file(QStringLiteral(":/tollgate/prices.json"));
        QString error;
        if (!file.open(QIODevice::ReadOnly))
            qCWarning(lcPrices).noquote()
                << "the embedded price list is missing:" << file.errorString();
        else if (!prices.load(file.readAll(), &error))
            qCWarning(lcPrices).noquote() << "the embedded price list is invalid:" << error;
        return prices;
    }();
    return table;
}

bool PriceTable::load(const QByteArray &json, QString *error)
{
    static const QSet<QString> rootKeys = {
        QStringLiteral("format"), QStringLiteral("checked"), QStringLiteral("currency"),
        QStringLiteral("units"),  QStringLiteral("recheck"), QStringLiteral("models"),
    };
    QString ignored;
    QString &message = error ? *error : ignored;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (document.isNull()) {
        message = QStringLiteral("prices: %1 at offset %2")
                      .arg(parseError.errorString())
                      .arg(parseError.offset);
        return false;
    }
    if (!document.isObject()) {
        message = QStringLiteral("prices: the document must be an object");
        return false;
    }
    const QJsonObject root = document.object();
    if (!checkKeys(root, rootKeys, QStringLiteral("prices"), &message))
        return false;
    if (root.value(QStringLiteral("format")).toInt() != 1) {
        message = QStringLiteral("prices: format must be 1");
        return false;
    }
    const QJsonValue currency = root.value(QStringLiteral("currency"));
    if (!currency.isUndefined() && currency.toString() != QStringLiteral("USD")) {
        message = QStringLiteral("prices: currency must be USD");
        return false;
    }
    PriceTable next;
    next.m_checked =
        QDate::fromString(root.value(QStringLiteral("checked")).toString(), Qt::ISODate);
    if (!next.m_checked.isValid()) {
        message = QStringLiteral("prices: checked must be the date of the last check, YYYY-MM-DD");
        return false;
    }
    const QJsonObject models = root.value(QStringLiteral("models")).toObject();
    if (models.isEmpty()) {
        message = QStringLiteral("prices: models must be a non-empty object");
        return false;
    }
    for (auto it = models.constBegin(); it != models.constEnd(); ++it) {
        ModelPrice price;
        if (!readEntry(it.key(), it.value(), EntryMode::PriceList, nullptr, &price, &message)
            || !next.insert(price, &message))
            return false;
    }
    *this = std::move(next);
    return true;
}

bool PriceTable::applyOverrides(const QJsonObject &models, QString *error)
{
    QString ignored;
    QString &message = error ? *error : ignored;
    PriceTable next = *this;
    for (auto it = models.constBegin(); it != models.constEnd(); ++it) {
        // The config names a model exactly: "claude-x[1m]" is a model of its own there.
        const qsizetype known = next.m_index.value(it.key().toLower(), -1);
        ModelPrice price;
        if (known < 0) {
            if (!readEntry(it.key(), it.value(), EntryMode::Override, nullptr, &price, &message)
                || !next.insert(price, &message))
                return false;
            continue;
        }
        const ModelPrice base = next.m_models.at(known);
        if (!readEntry(it.key(), it.value(), EntryMode::Override, &base, &price, &message))
            return false;
        for (const QString &alias : price.aliases) {
            const qsizetype owner = next.m_index.value(alias.toLower(), known);
            if (owner != known) {
                message = QStringLiteral("model \"%1\": alias \"%2\" already names \"%3\"")
                              .arg(it.key(), alias, next.m_models.at(owner).id);
                return false;
            }
            next.m_index.insert(alias.toLower(), known);
        }
        next.m_models[known] = price;
    }
    *this = std::move(next);
    return true;
}

bool PriceTable::insert(const ModelPrice &price, QString *error)
{
    QStringList names = price.aliases;
    names.prepend(price.id);
    for (const QString &name : std::as_const(names)) {
        if (m_index.contains(name.toLower())) {
            *error = QStringLiteral("model \"%1\" is listed twice").arg(name);
            return false;
        }
    }
    m_models.append(price);
    for (const QString &name : std::as_const(names))
        m_index.insert(name.toLower(), m_models.size() - 1);
    return true;
}

const ModelPrice *PriceTable::lookup(const QString &model) const
{
    const QString key = model.trimmed().toLower();
    auto it = m_index.constFind(key);
    // Claude Code names its 1M-context variants "claude-opus-4-8[1m]"; they are billed at
    // the model's standard price (4.6+ models: standard pricing across the full 1M window).
    if (it == m_index.constEnd() && key.endsWith(u']')) {
        const qsizetype open = key.lastIndexOf(u'[');
        if (open > 0)
            it = m_index.constFind(key.left(open).trimmed());
    }
    return it == m_index.constEnd() ? nullptr : &m_models.at(*it);
}

std::optional<ModelPrice> PriceTable::find(const QString &model) const
{
    const ModelPrice *price = lookup(model);
    return price ? std::optional<ModelPrice>(*price) : std::nullopt;
}

PriceTable::Cost PriceTable::cost(const QString &model, const Usage &usage, bool isBatch) const
{
    const ModelPrice *price = lookup(model);
    return price ? costOf(*price, usage, isBatch) : Cost();
}

PriceTable::Cost PriceTable::costOf(const ModelPrice &price, const Usage &usage, bool isBatch)
{
    // Fast mode has its own input and output prices with the cache multipliers on top; a
    // model without fast rates (Opus 4.6) runs fast requests at standard speed and rates.
    const bool isFast = price.fast && usage.speed == QStringLiteral("fast");
    const TokenRates rates = isFast ? *price.fast : price.standardRates();

    // The modifiers apply once to each token total, in exact integers. Real per-token
    // prices are multiples of 10,000 pico-USD ($0.01/MTok), so *11/10 and /2 divide
    // exactly; a user price finer than that is rounded half-up to a whole pico-USD.
    qint64 numerator = 1;
    qint64 denominator = 1;
    // Batch API: 50% off; the cache multipliers stack with it, so cache writes and reads
    // are halved too.
    if (isBatch || usage.serviceTier == QStringLiteral("batch"))
        denominator *= 2;
    // Data residency: US-only inference on Claude 4.6 and later models costs 1.1x "on all
    // token pricing categories, including input tokens, output tokens, cache writes, and
    // cache reads"; earlier models reject inference_geo and use standard pricing.
    if (price.hasDataResidencyPremium
        && usage.inferenceGeo.compare(QStringLiteral("us"), Qt::CaseInsensitive) == 0) {
        numerator *= 11;
        denominator *= 10;
    }

    // Web search is $10 per 1,000 searches, a per-request charge outside the token
    // categories the discounts and premiums apply to.
    const std::optional<qint64> search = times(usage.webSearchRequests, price.webSearchPerRequest);

    std::optional<qint64> tokens = times(usage.inputTokens, rates.input);
    tokens = plus(tokens, times(usage.outputTokens, rates.output));
    tokens = plus(tokens, times(usage.cacheWrite5mTokens, rates.cacheWrite5m));
    tokens = plus(tokens, times(usage.cacheWrite1hTokens, rates.cacheWrite1h));
    tokens = plus(tokens, times(usage.cacheReadTokens, rates.cacheRead));

    std::optional<qint64> allInput = plus(usage.inputTokens, usage.cacheWrite5mTokens);
    allInput = plus(allInput, usage.cacheWrite1hTokens);
    allInput = plus(allInput, usage.cacheReadTokens);
    std::optional<qint64> uncached = allInput ? times(*allInput, rates.input) : std::nullopt;
    uncached = plus(uncached, times(usage.outputTokens, rates.output));

    Cost cost;
    cost.picoUsd = plus(scaled(tokens, numerator, denominator), search);
    cost.withoutCachePicoUsd = plus(scaled(uncached, numerator, denominator), search);
    // A usage report too large to price is left unpriced rather than given a wrong sum.
    if (!cost.picoUsd || !cost.withoutCachePicoUsd)
        return {};
    return cost;
}

QString PriceTable::formatUsd(qint64 picoUsd)
{
    QByteArray text;
    appendUsd(text, picoUsd);
    return QString::fromLatin1(text);
}

void PriceTable::appendUsd(QByteArray &text, qint64 picoUsd)
{
    // The magnitude as unsigned, so that even the most negative value has one.
    const bool isNegative = picoUsd < 0;
    const quint64 magnitude =
        isNegative ? 0 - static_cast<quint64>(picoUsd) : static_cast<quint64>(picoUsd);
    const quint64 perUsd = static_cast<quint64>(kPicoPerUsd);
    if (isNegative)
        text += '-';
    char digits[24];
    const std::to_chars_result end =
        std::to_chars(digits, digits + sizeof digits, magnitude / perUsd);
    text.append(digits, qsizetype(end.ptr - digits));
    quint64 fraction = magnitude % perUsd;
    if (fraction == 0)
        return;
    // Twelve digits, without the trailing zeros.
    int places = 12;
    while (fraction % 10 == 0) {
        fraction /= 10;
        --places;
    }
    char decimals[12];
    for (int i = places - 1; i >= 0; --i) {
        decimals[i] = char('0' + fraction % 10);
        fraction /= 10;
    }
    text += '.';
    text.append(decimals, places);
}

std::optional<qint64> PriceTable::parseScaledDecimal(const QString &text, int scaleDigits)
{
    const QString decimal = text.trimmed();
    const qsizetype size = decimal.size();
    qsizetype pos = 0;
    QString digits; // the mantissa's digits, integer part then fraction
    qint64 power = scaleDigits; // value = digits * 10^power
    while (pos < size && isAsciiDigit(decimal.at(pos)))
        digits += decimal.at(pos++);
    if (pos < size && decimal.at(pos) == u'.') {
        ++pos;
        while (pos < size && isAsciiDigit(decimal.at(pos))) {
            digits += decimal.at(pos++);
            --power;
        }
    }
    if (digits.isEmpty())
        return std::nullopt;
    if (pos < size && (decimal.at(pos) == u'e' || decimal.at(pos) == u'E')) {
        ++pos;
        const bool isNegativeExponent = pos < size && decimal.at(pos) == u'-';
        if (pos < size && (decimal.at(pos) == u'-' || decimal.at(pos) == u'+'))
            ++pos;
        if (pos == size)
            return std::nullopt;
        qint64 exponent = 0;
        while (pos < size && isAsciiDigit(decimal.at(pos))) {
            exponent = std::min<qint64>(exponent * 10 + decimal.at(pos++).digitValue(), 10'000);
        }
        power += isNegativeExponent ? -exponent : exponent;
    }
    if (pos != size)
        return std::nullopt;

    // Leading zeros carry nothing; trailing zeros may absorb a negative power.
    qsizetype first = 0;
    while (first < digits.size() && digits.at(first) == u'0')
        ++first;
    digits = digits.mid(first);
    if (digits.isEmpty())
        return 0;
    while (power < 0 && digits.endsWith(u'0')) {
        digits.chop(1);
        ++power;
    }
    if (power < 0 || digits.size() + power > 19)
        return std::nullopt; // finer than one unit, or far beyond int64
    qint64 value = 0;
    for (const QChar digit : std::as_const(digits)) {
        if (qMulOverflow(value, qint64(10), &value)
            || qAddOverflow(value, qint64(digit.digitValue()), &value))
            return std::nullopt;
    }
    for (qint64 i = 0; i < power; ++i) {
        if (qMulOverflow(value, qint64(10), &value))
            return std::nullopt;
    }
    return value;
}

QStringList PriceTable::modelIds() const
{
    QStringList ids;
    ids.reserve(m_models.size());
    for (const ModelPrice &price : m_models)
        ids.append(price.id);
    ids.sort();
    return ids;
}

} // namespace tollgate
