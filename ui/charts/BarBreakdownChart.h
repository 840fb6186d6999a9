#pragma once

#include "charts/ValueFormat.h"

#include <QList>
#include <QString>
#include <QWidget>

namespace tollgate {

// Horizontal bars that break a total down by a key (cost by model, by billing tag), as the
// pages draw them. Pages hold this interface only; create() picks the chart library.
class BarBreakdownChart : public QWidget
{
    Q_OBJECT

public:
    struct Bar
    {
        QString label;
        double value = 0; // dollars for Unit::Usd, a count for Unit::Tokens
        QString toolTip; // shown on hover, e.g. the exact amount
        bool operator==(const Bar &other) const = default;
    };

    // The chart the build provides, ready to put in a layout.
    static BarBreakdownChart *create(QWidget *parent = nullptr);

    virtual void setTitle(const QString &title) = 0;
    virtual void setValueUnit(ValueFormat::Unit unit) = 0;
    // Shown instead of the plot while there are no bars.
    virtual void setPlaceholderText(const QString &text) = 0;
    // Replaces the bars; drawn top to bottom in the order given.
    virtual void setBars(const QList<Bar> &bars) = 0;
    virtual QList<Bar> bars() const = 0;

protected:
    explicit BarBreakdownChart(QWidget *parent = nullptr);
};

} // namespace tollgate
