#include "ValueFormat.h"

#include "usage/PriceTable.h"

#include <QCoreApplication>
#include <QLocale>
#include <cmath>

namespace tollgate {

namespace {

constexpr qint64 kPicoPerUsd = 1'000'000'000'000LL;
constexpr int kMaxDecimals = 12;

// Decimals that show two significant digits of a sum below one dollar.
int decimalsFor(quint64 magnitude)
{
    if (magnitude == 0 || magnitude >= static_cast<quint64>(kPicoPerUsd))
        return 2;
    int decimals = 2;
    quint64 threshold = static_cast<quint64>(kPicoPerUsd) / 10; // 0.1 USD
    while (decimals < kMaxDecimals && magnitude < threshold) {
        threshold /= 10;
        ++decimals;
    }
    return decimals;
}

QString withGroups(quint64 whole)
{
    return QLocale().toString(static_cast<qulonglong>(whole));
}

} // namespace

QString ValueFormat::usd(qint64 picoUsd)
{
    const bool isNegative = picoUsd < 0;
    const quint64 magnitude =
        isNegative ? 0 - static_cast<quint64>(picoUsd) : static_cast<quint64>(picoUsd);
    const int decimals = decimalsFor(magnitude);
    quint64 scale = 1;
    for (int i = decimals; i < kMaxDecimals; ++i)
        scale *= 10;
    // Half-up in integers: the figure shown is the exact one, rounded once.
    const quint64 rounded = magnitude / scale + (magnitude % scale * 2 >= scale ? 1 : 0);
    quint64 unitsPerUsd = 1;
    for (int i = 0; i < decimals; ++i)
        unitsPerUsd *= 10;
    const QString fraction = QString::number(rounded % unitsPerUsd).rightJustified(decimals, u'0');
    const QString sign = isNegative && rounded != 0 ? QStringLiteral("-") : QString();
    return sign + u'$' + withGroups(rounded / unitsPerUsd) + QLocale().decimalPoint() + fraction;
}

QString ValueFormat::usdAmount(double usd)
{
    const double pico = std::round(usd * double(kPicoPerUsd));
    if (!std::isfinite(pico) || std::fabs(pico) > 9.0e18)
        return QLocale().toString(usd, 'g', 6);
    return ValueFormat::usd(static_cast<qint64>(pico));
}

QString ValueFormat::tokens(double count)
{
    const double magnitude = std::fabs(count);
    if (magnitude >= 1e9)
        return QLocale().toString(count / 1e9, 'f', 1) + u'G';
    if (magnitude >= 1e6)
        return QLocale().toString(count / 1e6, 'f', 1) + u'M';
    if (magnitude >= 1e4)
        return QLocale().toString(count / 1e3, 'f', 1) + u'k';
    return QLocale().toString(static_cast<qlonglong>(std::llround(count)));
}

QString ValueFormat::percent(double ratio, bool hasValue)
{
    if (!hasValue || !std::isfinite(ratio))
        return QStringLiteral("–");
    return QLocale().toString(ratio * 100.0, 'f', ratio >= 0.1 || ratio == 0 ? 0 : 1) + u'%';
}

QString ValueFormat::format(Unit unit, double value)
{
    return unit == Unit::Usd ? usdAmount(value) : tokens(value);
}

QString ValueFormat::axisLabelFormat(Unit unit, double maxValue)
{
    if (unit == Unit::Tokens)
        return QStringLiteral("%.0f");
    if (maxValue >= 10)
        return QStringLiteral("$%.0f");
    if (maxValue >= 1)
        return QStringLiteral("$%.2f");
    int decimals = 2;
    double threshold = 0.1;
    while (decimals < 8 && maxValue > 0 && maxValue < threshold) {
        threshold /= 10;
        ++decimals;
    }
    return QStringLiteral("$%.%1f").arg(decimals);
}

QString ValueFormat::usdExact(qint64 picoUsd)
{
    return QCoreApplication::translate("tollgate::ValueFormat", "$%1 (exact)")
        .arg(PriceTable::formatUsd(picoUsd));
}

} // namespace tollgate
