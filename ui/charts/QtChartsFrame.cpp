#include "charts/QtChartsFrame.h"

#include <QChart>
#include <QChartView>
#include <QLabel>
#include <QStackedLayout>
#include <QValueAxis>

namespace tollgate {

QtChartsFrame::QtChartsFrame(QWidget *host, QChart *chart)
    : m_host(host)
    , m_chart(chart)
{
    m_chart->setMargins(QMargins(4, 4, 4, 4));
    m_chart->setBackgroundRoundness(0);
    m_view = new QChartView(m_chart); // takes ownership of the chart
    m_view->setRenderHint(QPainter::Antialiasing);
    // The host widget takes focus and carries the accessible name, not the view inside.
    m_view->setFocusPolicy(Qt::NoFocus);
    m_placeholder = new QLabel;
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    m_placeholder->setEnabled(false);
    m_stack = new QStackedLayout(host);
    m_stack->setContentsMargins(0, 0, 0, 0);
    m_stack->addWidget(m_placeholder);
    m_stack->addWidget(m_view);
    m_stack->setCurrentWidget(m_placeholder);
    host->setFocusPolicy(Qt::TabFocus);
}

void QtChartsFrame::setTitle(const QString &title)
{
    m_chart->setTitle(title);
    if (m_host->accessibleName().isEmpty())
        m_host->setAccessibleName(title);
}

void QtChartsFrame::setPlaceholderText(const QString &text)
{
    m_placeholder->setText(text);
}

void QtChartsFrame::showPlot(bool hasData)
{
    m_stack->setCurrentWidget(hasData ? static_cast<QWidget *>(m_view) : m_placeholder);
}

void QtChartsFrame::fitValueAxis(QValueAxis *axis, double maxValue, ValueFormat::Unit unit)
{
    // Head room above the highest value, and a visible axis when every value is zero.
    const double top =
        maxValue > 0 ? maxValue * 1.1 : (unit == ValueFormat::Unit::Usd ? 0.01 : 10.0);
    axis->setRange(0, top);
    axis->applyNiceNumbers();
    axis->setLabelFormat(ValueFormat::axisLabelFormat(unit, axis->max()));
}

} // namespace tollgate
