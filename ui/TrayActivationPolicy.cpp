#include "TrayActivationPolicy.h"

namespace tollgate {

TrayActivationPolicy::Action TrayActivationPolicy::actionFor(Reason reason) const
{
    const bool isClickDelivered = m_host != Host::MacOs && m_host != Host::AppIndicator;
    switch (reason) {
    case Reason::Trigger:
        return isClickDelivered ? Action::ToggleProxy : Action::None;
    case Reason::DoubleClick:
        return isClickDelivered ? Action::OpenWindow : Action::None;
    case Reason::MiddleClick:
        return Action::OpenWindow;
    case Reason::Context: // the menu opens by itself
    case Reason::Unknown:
        break;
    }
    return Action::None;
}

bool TrayActivationPolicy::record(Reason reason)
{
    // A menu request is no click: it neither starts nor ends a double click.
    if (reason == Reason::Context || reason == Reason::Unknown)
        return false;
    const bool isFirst = !m_isPending;
    // The release that ends a double click may arrive as one more click: the double
    // click stands.
    if (!(m_isPending && m_pending == Reason::DoubleClick && reason == Reason::Trigger))
        m_pending = reason;
    m_isPending = true;
    return isFirst;
}

TrayActivationPolicy::Action TrayActivationPolicy::settle()
{
    if (!m_isPending)
        return Action::None;
    m_isPending = false;
    return actionFor(m_pending);
}

} // namespace tollgate
