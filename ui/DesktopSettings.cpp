#include "DesktopSettings.h"

#include <QStandardPaths>

namespace tollgate {

namespace {
const QString kStartMinimised = QStringLiteral("startup/start_minimised");
const QString kStartProxy = QStringLiteral("startup/start_proxy");
const QString kKeyImportOffered = QStringLiteral("startup/key_import_offered");
const QString kGeometry = QStringLiteral("window/geometry");
const QString kState = QStringLiteral("window/state");
const QString kPage = QStringLiteral("window/page");
} // namespace

QString DesktopSettings::defaultPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation)
        + QStringLiteral("/desktop.ini");
}

DesktopSettings::DesktopSettings(const QString &path, std::optional<Autostart> autostart,
                                 QObject *parent)
    : QObject(parent)
    , m_settings(path, QSettings::IniFormat)
    , m_autostart(std::move(autostart))
{
}

DesktopSettings::~DesktopSettings() = default;

QString DesktopSettings::path() const
{
    return m_settings.fileName();
}

bool DesktopSettings::startMinimised() const
{
    return m_settings.value(kStartMinimised, false).toBool();
}

void DesktopSettings::setStartMinimised(bool startMinimised)
{
    if (startMinimised == this->startMinimised())
        return;
    m_settings.setValue(kStartMinimised, startMinimised);
    emit changed();
}

bool DesktopSettings::startAtLogin() const
{
    return m_autostart && m_autostart->isEnabled();
}

bool DesktopSettings::setStartAtLogin(bool startAtLogin, QString *error)
{
    if (!m_autostart) {
        if (error)
            *error = tr("Starting at login is not available here.");
        return !startAtLogin;
    }
    const bool wasEnabled = m_autostart->isEnabled();
    if (!m_autostart->setEnabled(startAtLogin, error))
        return false;
    if (wasEnabled != startAtLogin)
        emit changed();
    return true;
}

bool DesktopSettings::startProxyAtLaunch() const
{
    return m_settings.value(kStartProxy, true).toBool();
}

void DesktopSettings::setStartProxyAtLaunch(bool start)
{
    if (start == startProxyAtLaunch())
        return;
    m_settings.setValue(kStartProxy, start);
    emit changed();
}

bool DesktopSettings::hasOfferedKeyImport() const
{
    return m_settings.value(kKeyImportOffered, false).toBool();
}

void DesktopSettings::setOfferedKeyImport(bool offered)
{
    m_settings.setValue(kKeyImportOffered, offered);
}

QByteArray DesktopSettings::windowGeometry() const
{
    return m_settings.value(kGeometry).toByteArray();
}

QByteArray DesktopSettings::windowState() const
{
    return m_settings.value(kState).toByteArray();
}

QString DesktopSettings::currentPage() const
{
    return m_settings.value(kPage).toString();
}

void DesktopSettings::setWindowGeometry(const QByteArray &geometry)
{
    m_settings.setValue(kGeometry, geometry);
}

void DesktopSettings::setWindowState(const QByteArray &state)
{
    m_settings.setValue(kState, state);
}

void DesktopSettings::setCurrentPage(const QString &pageId)
{
    m_settings.setValue(kPage, pageId);
}

void DesktopSettings::sync()
{
    m_settings.sync();
}

} // namespace tollgate
