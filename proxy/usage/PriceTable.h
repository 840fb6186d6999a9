#pragma once

#include "usage/Usage.h"

#include <QByteArray>
#include <QDate>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>
#include <QtGlobal>
#include <optional>

namespace tollgate {

// Per-token prices of one speed tier in 1e-12 USD ("pico-USD"): $5/MTok is 5'000'000
// pico-USD per token. Integers only, so a cost is an exact sum and never drifts.
struct TokenRates
{
    qint64 input = 0;
    qint64 output = 0;
    qint64 cacheWrite5m = 0;
    qint64 cacheWrite1h = 0;
    qint64 cacheRead = 0;

    bool operator==(const TokenRates &other) const = default;
};

// What one model costs, with where and when the price was read.
struct ModelPrice
{
    QString id; // the canonical API id (dated for models before the 4.6 generation)
    QString name; // for people: "Claude Opus 4.8"
    QStringList aliases; // other ids the API accepts for the same model

    qint64 input = 0;
    qint64 output = 0;
    qint64 cacheWrite5m = 0;
    qint64 cacheWrite1h = 0;
    qint64 cacheRead = 0;
    qint64 webSearchPerRequest = 0; // pico-USD per search ($10 per 1,000 is 10^10)

    // Fast mode (usage.speed "fast") rates, on the models that have them.
    std::optional<TokenRates> fast;
    // US-only inference (inference_geo "us") costs 1.1x on Claude 4.6 and later models.
    bool hasDataResidencyPremium = false;

    QString source; // URL of the page the price was read from, or "config"
    QDate date; // date of that page; invalid for a user price without one

    TokenRates standardRates() const
    {
        return {input, output, cacheWrite5m, cacheWrite1h, cacheRead};
    }
    bool operator==(const ModelPrice &other) const = default;
};

// The price list: the one shipped in resources/prices.json (embedded as
// :/tollgate/prices.json), plus the user's additions and corrections from the config.
// Owns the model entries and the id/alias index; a plain value, cheap to copy.
class PriceTable
{
public:
    struct Cost
    {
        // Empty when the model has no price ("unpriced") or the usage cannot be priced;
        // never 0 for either.
        std::optional<qint64> picoUsd;
        // The same request as if nothing had been cached: every input token at the plain
        // input price, with the same output, web searches and modifiers.
        std::optional<qint64> withoutCachePicoUsd;

        bool operator==(const Cost &other) const = default;
    };

    // The prices embedded in the binary. Parsed once; an unreadable embedded file gives
    // an empty table (every request unpriced) and a warning.
    static PriceTable builtIn();

    // Replaces the table with a prices.json document. Every model must carry every price,
    // a date and a source. On failure the table is unchanged and *error says why.
    bool load(const QByteArray &json, QString *error);

    // The user's config: {"my-model": {"input": "3", "output": "15"}, "claude-x": {...}}.
    // A new model needs input and output; a known model (by id or alias) keeps what the
    // entry leaves out. Cache prices the entry leaves out follow its input price with
    // Anthropic's multipliers (5m write 1.25x, 1h write 2x, read 0.1x). All or nothing.
    bool applyOverrides(const QJsonObject &models, QString *error);

    // By exact id or alias, case-insensitively; a trailing "[1m]"-style context suffix,
    // as Claude Code adds to model names, is ignored when the full name is not listed.
    std::optional<ModelPrice> find(const QString &model) const;

    // isBatch (or usage.serviceTier "batch"): the Batch API's 50% discount.
    // usage.speed "fast": the fast-mode rates, where the model has them.
    // usage.inferenceGeo "us" on a model with the premium: 1.1x on every token price.
    // Web searches are charged per request, outside the token discounts and premiums.
    // The modifiers are applied once to the token total, in integers: exact for every real
    // price (multiples of $0.01/MTok); a finer user price rounds half-up to a whole
    // pico-USD. An unknown model, a negative count or a total beyond int64 (9.2 million
    // USD) gives an empty Cost.
    Cost cost(const QString &model, const Usage &usage, bool isBatch) const;
    static Cost costOf(const ModelPrice &price, const Usage &usage, bool isBatch);

    // Exact decimal USD with trailing zeros dropped: 5735000000 -> "0.005735", 0 -> "0".
    static QString formatUsd(qint64 picoUsd);
    // The same text appended to a byte array, as the headless request log writes it.
    static void appendUsd(QByteArray &text, qint64 picoUsd);

    // A decimal ("0.30", "12.5", "1e-3") scaled by 10^scaleDigits; empty when it is
    // malformed, negative, or not a whole number after scaling (finer than a pico).
    static std::optional<qint64> parseScaledDecimal(const QString &text, int scaleDigits);

    QStringList modelIds() const; // canonical ids, sorted
    QDate checkedDate() const { return m_checked; } // when prices.json was last re-checked
    bool isEmpty() const { return m_models.isEmpty(); }

private:
    const ModelPrice *lookup(const QString &model) const;
    bool insert(const ModelPrice &price, QString *error);

    QList<ModelPrice> m_models;
    QHash<QString, qsizetype> m_index; // lower-case id or alias -> m_models index
    QDate m_checked;
};

} // namespace tollgate
