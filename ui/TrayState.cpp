#include "TrayState.h"

namespace tollgate {

namespace {
constexpr qint64 kPicoPerCent = 10'000'000'000; // 1e-12 USD units in one cent
}

void TrayState::setProxy(Proxy proxy, const QString &error)
{
    m_proxy = proxy;
    m_error = proxy == Proxy::Failed ? error : QString();
    if (proxy != Proxy::On) {
        m_upstreamProblem.clear(); // learnt from the run that ended
        m_storeProblem.clear();
    }
}

void TrayState::setToday(qint64 costPicoUsd, qint64 requests)
{
    m_todayCostPicoUsd = costPicoUsd;
    m_todayRequests = requests;
}

void TrayState::addRequest(std::optional<qint64> costPicoUsd)
{
    ++m_todayRequests;
    if (costPicoUsd)
        m_todayCostPicoUsd += *costPicoUsd;
}

TrayState::Icon TrayState::icon() const
{
    switch (m_proxy) {
    case Proxy::Failed:
        return Icon::Error;
    case Proxy::On:
        if (!m_upstreamProblem.isEmpty())
            return Icon::Error;
        return m_storeProblem.isEmpty() && m_budgetWarning.isEmpty() ? Icon::On : Icon::Warning;
    case Proxy::Off:
    case Proxy::Starting:
    case Proxy::Stopping:
        break;
    }
    return Icon::Off;
}

QString TrayState::iconPath(Panel panel) const
{
    return iconPath(icon(), panel);
}

QString TrayState::iconPath(Icon icon, Panel panel)
{
    const char *state = "off";
    switch (icon) {
    case Icon::On:
        state = "on";
        break;
    case Icon::Off:
        state = "off";
        break;
    case Icon::Error:
        state = "error";
        break;
    case Icon::Warning:
        state = "warning";
        break;
    }
    const char *variant = panel == Panel::Dark ? "dark"
        : panel == Panel::Template             ? "template"
                                               : "light";
    return QStringLiteral(":/tollgate/icons/tray-%1-%2.svg")
        .arg(QLatin1String(state), QLatin1String(variant));
}

TrayState::Panel TrayState::panelForLightness(int windowLightness)
{
    return windowLightness < 128 ? Panel::Dark : Panel::Light;
}

QString TrayState::statusText() const
{
    switch (m_proxy) {
    case Proxy::Off:
        return tr("off");
    case Proxy::Starting:
        return tr("starting");
    case Proxy::Stopping:
        return tr("stopping");
    case Proxy::Failed:
        return m_error.isEmpty() ? tr("stopped on an error") : tr("error: %1").arg(m_error);
    case Proxy::On:
        break;
    }
    return tr("on, port %1").arg(m_port);
}

QString TrayState::toolTip() const
{
    QString text = tr("Tollgate: %1, today %2").arg(statusText(), formatCost(m_todayCostPicoUsd));
    if (m_proxy == Proxy::On && !m_upstreamProblem.isEmpty())
        text += QLatin1Char('\n') + m_upstreamProblem;
    if (m_proxy == Proxy::On && !m_storeProblem.isEmpty())
        text += QLatin1Char('\n') + m_storeProblem;
    if (m_proxy == Proxy::On && !m_budgetWarning.isEmpty())
        text += QLatin1Char('\n') + m_budgetWarning;
    return text;
}

QString TrayState::toggleText() const
{
    switch (m_proxy) {
    case Proxy::On:
        return tr("Stop proxy");
    case Proxy::Starting:
        return tr("Starting proxy…");
    case Proxy::Stopping:
        return tr("Stopping proxy…");
    case Proxy::Off:
    case Proxy::Failed:
        break;
    }
    return tr("Start proxy");
}

bool TrayState::isToggleEnabled() const
{
    return m_proxy != Proxy::Starting && m_proxy != Proxy::Stopping;
}

QString TrayState::todayText() const
{
    // Spelled out rather than tr()'s %n, which needs a translation file for English plurals.
    if (m_todayRequests == 1)
        return tr("Today: %1 · 1 request").arg(formatCost(m_todayCostPicoUsd));
    return tr("Today: %1 · %2 requests").arg(formatCost(m_todayCostPicoUsd)).arg(m_todayRequests);
}

QString TrayState::formatCost(qint64 picoUsd)
{
    if (picoUsd > 0 && picoUsd < kPicoPerCent / 2)
        return QStringLiteral("<$0.01");
    const qint64 cents = (qMax<qint64>(picoUsd, 0) + kPicoPerCent / 2) / kPicoPerCent;
    return QStringLiteral("$%1.%2").arg(cents / 100).arg(cents % 100, 2, 10, QLatin1Char('0'));
}

} // namespace tollgate
