#pragma once

#include <QString>
#include <QtGlobal>

namespace tollgate {

// How the window writes the numbers it shows people: money, token counts and ratios.
// Money is exact integer pico-USD (1e-12 USD) on the way in, and keeps enough digits that
// a small sum never reads as $0.00; PriceTable::formatUsd gives the exact figure for tooltips.
class ValueFormat
{
public:
    enum class Unit { Usd, Tokens };

    // "$12.34", "$0.57", "$0.0057", "$0.00000012": two decimals from one dollar up, else
    // two significant digits; "-" in front of a negative sum; "$0.00" for nothing.
    static QString usd(qint64 picoUsd);
    // The same for a value in dollars (chart axes and tooltips work in doubles).
    static QString usdAmount(double usd);
    // "812", "34.5k", "1.2M".
    static QString tokens(double count);
    // "42%"; "–" when there is nothing to divide.
    static QString percent(double ratio, bool hasValue = true);
    static QString format(Unit unit, double value);
    // A printf format for axis labels spanning up to maxValue (Qt Charts' label format).
    static QString axisLabelFormat(Unit unit, double maxValue);
    // The exact amount, for a tooltip: "$0.005735 (exact)".
    static QString usdExact(qint64 picoUsd);
};

} // namespace tollgate
