// Start at login on Linux: an XDG autostart entry in $XDG_CONFIG_HOME/autostart that
// starts this program, turned on and off on real files, and the desktop settings that
// read it.
#include "DesktopSettings.h"
#include "platform/Autostart.h"

#include <QFile>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;

namespace {
QByteArray readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QByteArray execLine(const QByteArray &entry)
{
    for (const QByteArray &line : entry.split('\n')) {
        if (line.startsWith("Exec="))
            return line.mid(5);
    }
    return {};
}
} // namespace

class tst_Autostart final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void writesAnXdgAutostartEntryThatStartsTheProgram();
    void removesTheEntryWhenTurnedOff();
    void quotesAProgramPathWithSpacesAndSpecialCharacters();
    void respectsAnEntryTheUserHidInTheirDesktopSettings();
    void fallsBackToDotConfigWhenXdgConfigHomeIsUnset();
    void reportsADirectoryItCannotCreate();
    void desktopSettingsReadAndWriteTheEntry();
    void desktopSettingsRememberStartMinimised();

private:
    QTemporaryDir *m_dir = nullptr;
    QByteArray m_savedConfigHome;
    QByteArray m_savedHome;
};

void tst_Autostart::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    m_savedConfigHome = qgetenv("XDG_CONFIG_HOME");
    m_savedHome = qgetenv("HOME");
}

void tst_Autostart::init()
{
    m_dir = new QTemporaryDir;
    QVERIFY(m_dir->isValid());
    qputenv("XDG_CONFIG_HOME", m_dir->filePath(QStringLiteral("config")).toUtf8());
}

void tst_Autostart::cleanup()
{
    qputenv("XDG_CONFIG_HOME", m_savedConfigHome);
    qputenv("HOME", m_savedHome);
    delete m_dir;
}

void tst_Autostart::writesAnXdgAutostartEntryThatStartsTheProgram()
{
    Autostart autostart(QStringLiteral("/opt/tollgate/bin/tollgate"));
    const QString expected = m_dir->filePath(QStringLiteral("config/autostart/tollgate.desktop"));
    QCOMPARE(autostart.location(), expected);
    QVERIFY(!autostart.isEnabled());
    QString error;
    QVERIFY2(autostart.setEnabled(true, &error), qPrintable(error));
    QVERIFY(autostart.isEnabled());
    const QByteArray entry = readFile(expected);
    QVERIFY(entry.startsWith("[Desktop Entry]\n"));
    QVERIFY(entry.contains("\nType=Application\n"));
    QVERIFY(entry.contains("\nName=Tollgate\n"));
    QCOMPARE(execLine(entry), QByteArray("/opt/tollgate/bin/tollgate"));
    // Enabling again rewrites the entry in place.
    QVERIFY(autostart.setEnabled(true));
    QCOMPARE(readFile(expected), entry);
}

void tst_Autostart::removesTheEntryWhenTurnedOff()
{
    Autostart autostart(QStringLiteral("/usr/bin/tollgate"));
    QVERIFY(autostart.setEnabled(true));
    QVERIFY(QFile::exists(autostart.location()));
    QVERIFY(autostart.setEnabled(false));
    QVERIFY(!QFile::exists(autostart.location()));
    QVERIFY(!autostart.isEnabled());
    QVERIFY(autostart.setEnabled(false)); // already off: nothing to do, no error
}

void tst_Autostart::quotesAProgramPathWithSpacesAndSpecialCharacters()
{
    Autostart autostart(QStringLiteral("/home/me/My Apps/tollgate$1\\x"),
                        {QStringLiteral("--config"), QStringLiteral("/tmp/100% sure.json")});
    QVERIFY(autostart.setEnabled(true));
    // Desktop Entry spec: quoted, $ and \ escaped inside quotes, then \ doubled again as a
    // string value; % doubled as it starts a field code.
    QCOMPARE(execLine(readFile(autostart.location())),
             QByteArray("\"/home/me/My Apps/tollgate\\\\$1\\\\\\\\x\" --config "
                        "\"/tmp/100%% sure.json\""));
}

void tst_Autostart::respectsAnEntryTheUserHidInTheirDesktopSettings()
{
    Autostart autostart(QStringLiteral("/usr/bin/tollgate"));
    QVERIFY(autostart.setEnabled(true));
    QFile file(autostart.location());
    QVERIFY(file.open(QIODevice::Append));
    file.write("Hidden=true\n");
    file.close();
    QVERIFY(!autostart.isEnabled());
}

void tst_Autostart::fallsBackToDotConfigWhenXdgConfigHomeIsUnset()
{
    qunsetenv("XDG_CONFIG_HOME");
    qputenv("HOME", m_dir->filePath(QStringLiteral("home")).toUtf8());
    Autostart autostart(QStringLiteral("/usr/bin/tollgate"));
    QCOMPARE(autostart.location(),
             m_dir->filePath(QStringLiteral("home/.config/autostart/tollgate.desktop")));
    QVERIFY(autostart.setEnabled(true));
    QVERIFY(QFile::exists(autostart.location()));
}

void tst_Autostart::reportsADirectoryItCannotCreate()
{
    // A file where the config directory should be.
    const QString blocker = m_dir->filePath(QStringLiteral("blocker"));
    QFile file(blocker);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    qputenv("XDG_CONFIG_HOME", blocker.toUtf8());
    Autostart autostart(QStringLiteral("/usr/bin/tollgate"));
    QString error;
    QVERIFY(!autostart.setEnabled(true, &error));
    QVERIFY(error.contains(QStringLiteral("autostart")));
    QVERIFY(!autostart.isEnabled());
}

void tst_Autostart::desktopSettingsReadAndWriteTheEntry()
{
    const QString ini = m_dir->filePath(QStringLiteral("desktop.ini"));
    DesktopSettings settings(ini, Autostart(QStringLiteral("/usr/bin/tollgate")));
    QSignalSpy changed(&settings, &DesktopSettings::changed);
    QVERIFY(!settings.startAtLogin());
    QString error;
    QVERIFY2(settings.setStartAtLogin(true, &error), qPrintable(error));
    QVERIFY(settings.startAtLogin());
    QVERIFY(QFile::exists(Autostart().location()));
    QCOMPARE(changed.count(), 1);
    QVERIFY(settings.setStartAtLogin(false, &error));
    QVERIFY(!settings.startAtLogin());
    QCOMPARE(changed.count(), 2);

    DesktopSettings without(ini, std::nullopt);
    QVERIFY(!without.setStartAtLogin(true, &error));
    QVERIFY(!error.isEmpty());
}

void tst_Autostart::desktopSettingsRememberStartMinimised()
{
    const QString ini = m_dir->filePath(QStringLiteral("desktop.ini"));
    {
        DesktopSettings settings(ini, std::nullopt);
        QVERIFY(!settings.startMinimised());
        QVERIFY(settings.startProxyAtLaunch());
        settings.setStartMinimised(true);
        settings.setStartProxyAtLaunch(false);
    }
    DesktopSettings settings(ini, std::nullopt);
    QVERIFY(settings.startMinimised());
    QVERIFY(!settings.startProxyAtLaunch());
}

QTEST_MAIN(tst_Autostart)
#include "tst_Autostart.moc"
