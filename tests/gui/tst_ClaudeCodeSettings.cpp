// Claude Code's settings.json on real files: apply merges two env entries and keeps the
// rest, undo puts the file back, and a file Tollgate cannot read is never written over; and
// the dialog that offers it.
#include "ClaudeCodeSettings.h"
#include "ClaudeCodeSetupDialog.h"
#include "TestFiles.h"
#include "config/ClientSetup.h"

#include <QClipboard>
#include <QDir>
#include <QFile>
#include <QGuiApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QString kBaseUrl = QStringLiteral("http://127.0.0.1:8787");
const QByteArray kKey = QByteArrayLiteral("tg-local-0123456789abcdef");

// Hand-written, as a user leaves it: two-space indent, unsorted keys, non-ASCII text.
const QByteArray kOriginal = "{\n"
                             "  \"model\": \"opus\",\n"
                             "  \"permissions\": {\"allow\": [\"Bash(ls:*)\"], \"deny\": []},\n"
                             "  \"env\": {\"FOO\": \"bar\", \"ANTHROPIC_BASE_URL\": "
                             "\"https://proxy.corp.example\"},\n"
                             "  \"statusLine\": {\"type\": \"command\", \"command\": "
                             "\"echo \u2713\"},\n"
                             "  \"cleanupPeriodDays\": 30,\n"
                             "  \"includeCoAuthoredBy\": false\n"
                             "}\n";

QJsonObject objectOf(const QByteArray &bytes)
{
    return QJsonDocument::fromJson(bytes).object();
}

QJsonObject envOf(const QString &path)
{
    return objectOf(readAll(path)).value(QStringLiteral("env")).toObject();
}

constexpr QFileDevice::Permissions kOwnerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;

QPushButton *buttonOf(QWidget *parent, const QString &text)
{
    const QList<QPushButton *> buttons = parent->findChildren<QPushButton *>();
    for (QPushButton *button : buttons) {
        if (button->text() == text)
            return button;
    }
    return nullptr;
}

QFileDevice::Permissions ownerGroupOther(const QString &path)
{
    return QFile::permissions(path)
        & ~(QFileDevice::ReadUser | QFileDevice::WriteUser | QFileDevice::ExeUser);
}
} // namespace

class tst_ClaudeCodeSettings final : public QObject
{
    Q_OBJECT

private slots:
    void appliesIntoAMissingFileAndFolder();
    void keepsEveryOtherKeyAndEnvEntry();
    void writesABackupOfThePreviousFile();
    void undoRestoresThePreviousFileByteForByte();
    void refusesMalformedSettingsAndLeavesThemUntouched_data();
    void refusesMalformedSettingsAndLeavesThemUntouched();
    void applyingTwiceChangesNothing();
    void applyingAnotherPortKeepsTheFirstBackup();
    void undoKeepsChangesMadeSinceApply();
    void undoWithoutBackupTakesOutOnlyTollgatesEntries();
    void undoWithoutBackupLeavesAUsersOwnBaseUrl();
    void keepsThePermissionsOfAnExistingFile();
    void dialogShowsAndCopiesTheExportLines();
    void dialogAppliesAndUndoes();
    void dialogShowsWhyItCannotApply();
};

void tst_ClaudeCodeSettings::appliesIntoAMissingFileAndFolder()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("home/.claude/settings.json"));
    QVERIFY(!ClaudeCodeSettings::isApplied(path, kBaseUrl, kKey));
    QString error;
    QVERIFY2(ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error), qPrintable(error));
    QVERIFY(ClaudeCodeSettings::isApplied(path, kBaseUrl, kKey));
    QCOMPARE(objectOf(readAll(path)),
             (QJsonObject {{QStringLiteral("env"),
                            QJsonObject {{QStringLiteral("ANTHROPIC_BASE_URL"), kBaseUrl},
                                         {QStringLiteral("ANTHROPIC_API_KEY"),
                                          QString::fromLatin1(kKey)}}}}));
    // The key is in it: a new file is private.
    QCOMPARE(ownerGroupOther(path), kOwnerOnly);
    // An empty backup records that there was no file.
    QVERIFY(ClaudeCodeSettings::hasBackup(path));
    QCOMPARE(readAll(ClaudeCodeSettings::backupPath(path)), QByteArray());

    const std::optional<ClaudeCodeSettings::Undone> undone = ClaudeCodeSettings::undo(path, &error);
    QVERIFY2(undone, qPrintable(error));
    QCOMPARE(*undone, ClaudeCodeSettings::Undone::RemovedFile);
    QVERIFY(!QFile::exists(path));
    QVERIFY(!ClaudeCodeSettings::hasBackup(path));
}

void tst_ClaudeCodeSettings::keepsEveryOtherKeyAndEnvEntry()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, kOriginal);
    QString error;
    QVERIFY2(ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error), qPrintable(error));

    QJsonObject expected = objectOf(kOriginal);
    QJsonObject env = expected.value(QStringLiteral("env")).toObject();
    env.insert(QStringLiteral("ANTHROPIC_BASE_URL"), kBaseUrl);
    env.insert(QStringLiteral("ANTHROPIC_API_KEY"), QString::fromLatin1(kKey));
    expected.insert(QStringLiteral("env"), env);
    QCOMPARE(objectOf(readAll(path)), expected);
    QCOMPARE(envOf(path).value(QStringLiteral("FOO")).toString(), QStringLiteral("bar"));
    QCOMPARE(objectOf(readAll(path)).value(QStringLiteral("statusLine")).toObject(),
             objectOf(kOriginal).value(QStringLiteral("statusLine")).toObject());
}

void tst_ClaudeCodeSettings::writesABackupOfThePreviousFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, kOriginal);
    QString error;
    QVERIFY2(ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error), qPrintable(error));
    const QString backup = ClaudeCodeSettings::backupPath(path);
    QCOMPARE(backup, path + QStringLiteral(".tollgate-backup"));
    QCOMPARE(readAll(backup), kOriginal);
    QCOMPARE(ownerGroupOther(backup), kOwnerOnly);
}

void tst_ClaudeCodeSettings::undoRestoresThePreviousFileByteForByte()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, kOriginal);
    QString error;
    QVERIFY2(ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error), qPrintable(error));
    QVERIFY(readAll(path) != kOriginal);
    const std::optional<ClaudeCodeSettings::Undone> undone = ClaudeCodeSettings::undo(path, &error);
    QVERIFY2(undone, qPrintable(error));
    QCOMPARE(*undone, ClaudeCodeSettings::Undone::RestoredBackup);
    QCOMPARE(readAll(path), kOriginal);
    QVERIFY(!ClaudeCodeSettings::hasBackup(path));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
             QStringList {QStringLiteral("settings.json")});
}

void tst_ClaudeCodeSettings::refusesMalformedSettingsAndLeavesThemUntouched_data()
{
    QTest::addColumn<QByteArray>("contents");
    QTest::addColumn<QString>("expected");
    QTest::newRow("truncated") << QByteArray("{\"model\": \"opus\",\n") << QStringLiteral("JSON");
    QTest::newRow("trailing comma")
        << QByteArray("{\"model\": \"opus\",}") << QStringLiteral("JSON");
    QTest::newRow("array") << QByteArray("[1, 2]") << QStringLiteral("JSON object");
    QTest::newRow("env not an object")
        << QByteArray(R"({"env": ["A=1"]})") << QStringLiteral("\"env\"");
}

void tst_ClaudeCodeSettings::refusesMalformedSettingsAndLeavesThemUntouched()
{
    QFETCH(QByteArray, contents);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, contents);
    QString error;
    QVERIFY(!ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error));
    QVERIFY2(error.contains(expected), qPrintable(error));
    QVERIFY2(error.contains(path), qPrintable(error));
    QCOMPARE(readAll(path), contents);
    QVERIFY(!ClaudeCodeSettings::hasBackup(path));

    error.clear();
    QVERIFY(!ClaudeCodeSettings::undo(path, &error));
    QVERIFY(!error.isEmpty());
    QCOMPARE(readAll(path), contents);
}

void tst_ClaudeCodeSettings::applyingTwiceChangesNothing()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, kOriginal);
    QString error;
    QVERIFY2(ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error), qPrintable(error));
    const QByteArray applied = readAll(path);
    QVERIFY2(ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error), qPrintable(error));
    QCOMPARE(readAll(path), applied);
    QCOMPARE(readAll(ClaudeCodeSettings::backupPath(path)), kOriginal);
    QVERIFY(ClaudeCodeSettings::undo(path, &error));
    QCOMPARE(readAll(path), kOriginal);
}

void tst_ClaudeCodeSettings::applyingAnotherPortKeepsTheFirstBackup()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, kOriginal);
    QString error;
    QVERIFY2(ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error), qPrintable(error));
    const QString otherUrl = QStringLiteral("http://127.0.0.1:9999");
    QVERIFY2(ClaudeCodeSettings::apply(path, otherUrl, kKey, &error), qPrintable(error));
    QVERIFY(ClaudeCodeSettings::isApplied(path, otherUrl, kKey));
    QVERIFY(!ClaudeCodeSettings::isApplied(path, kBaseUrl, kKey));
    QCOMPARE(readAll(ClaudeCodeSettings::backupPath(path)), kOriginal);
    const std::optional<ClaudeCodeSettings::Undone> undone = ClaudeCodeSettings::undo(path, &error);
    QVERIFY2(undone, qPrintable(error));
    QCOMPARE(*undone, ClaudeCodeSettings::Undone::RestoredBackup);
    QCOMPARE(readAll(path), kOriginal);
}

void tst_ClaudeCodeSettings::undoKeepsChangesMadeSinceApply()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, kOriginal);
    QString error;
    QVERIFY2(ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error), qPrintable(error));
    QJsonObject edited = objectOf(readAll(path));
    edited.insert(QStringLiteral("theme"), QStringLiteral("dark"));
    writeAll(path, QJsonDocument(edited).toJson());

    const std::optional<ClaudeCodeSettings::Undone> undone = ClaudeCodeSettings::undo(path, &error);
    QVERIFY2(undone, qPrintable(error));
    QCOMPARE(*undone, ClaudeCodeSettings::Undone::RemovedEntries);
    QJsonObject expected = objectOf(kOriginal);
    expected.insert(QStringLiteral("theme"), QStringLiteral("dark"));
    // The base URL the user had before Tollgate is back; the key Tollgate added is gone.
    QCOMPARE(objectOf(readAll(path)), expected);
    QVERIFY(!ClaudeCodeSettings::hasBackup(path));
}

void tst_ClaudeCodeSettings::undoWithoutBackupTakesOutOnlyTollgatesEntries()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path,
             QJsonDocument(
                 QJsonObject {
                     {QStringLiteral("model"), QStringLiteral("opus")},
                     {QStringLiteral("env"),
                      QJsonObject {{QStringLiteral("ANTHROPIC_BASE_URL"), kBaseUrl},
                                   {QStringLiteral("ANTHROPIC_API_KEY"), QString::fromLatin1(kKey)},
                                   {QStringLiteral("OTHER"), QStringLiteral("x")}}},
                 })
                 .toJson());
    QString error;
    const std::optional<ClaudeCodeSettings::Undone> undone = ClaudeCodeSettings::undo(path, &error);
    QVERIFY2(undone, qPrintable(error));
    QCOMPARE(*undone, ClaudeCodeSettings::Undone::RemovedEntries);
    QCOMPARE(objectOf(readAll(path)),
             (QJsonObject {{QStringLiteral("model"), QStringLiteral("opus")},
                           {QStringLiteral("env"),
                            QJsonObject {{QStringLiteral("OTHER"), QStringLiteral("x")}}}}));
}

void tst_ClaudeCodeSettings::undoWithoutBackupLeavesAUsersOwnBaseUrl()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, kOriginal);
    QString error;
    const std::optional<ClaudeCodeSettings::Undone> undone = ClaudeCodeSettings::undo(path, &error);
    QVERIFY2(undone, qPrintable(error));
    QCOMPARE(*undone, ClaudeCodeSettings::Undone::NothingToUndo);
    QCOMPARE(readAll(path), kOriginal);
}

void tst_ClaudeCodeSettings::keepsThePermissionsOfAnExistingFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, kOriginal);
    const QFileDevice::Permissions mode =
        QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup;
    QVERIFY(QFile::setPermissions(path, mode));
    QString error;
    QVERIFY2(ClaudeCodeSettings::apply(path, kBaseUrl, kKey, &error), qPrintable(error));
    QCOMPARE(ownerGroupOther(path), mode);
    QVERIFY(ClaudeCodeSettings::undo(path, &error));
    QCOMPARE(ownerGroupOther(path), mode);
}

void tst_ClaudeCodeSettings::dialogShowsAndCopiesTheExportLines()
{
    QTemporaryDir dir;
    ClaudeCodeSetupDialog dialog(kBaseUrl, kKey, dir.filePath(QStringLiteral("settings.json")));
    const QString expected = QStringLiteral("export ANTHROPIC_BASE_URL=http://127.0.0.1:8787\n"
                                            "export ANTHROPIC_API_KEY=tg-local-0123456789abcdef");
    QCOMPARE(dialog.commands(), expected); // this platform's shell: sh, bash, zsh
    QTest::mouseClick(buttonOf(&dialog, QStringLiteral("&Copy")), Qt::LeftButton);
    QCOMPARE(QGuiApplication::clipboard()->text(), expected);
    QVERIFY(!dialog.resultText().isEmpty());

    // A Windows user picks the shell the lines are pasted into.
    dialog.setShell(int(ClientSetup::Shell::PowerShell));
    const QString powerShell =
        QStringLiteral("$env:ANTHROPIC_BASE_URL = 'http://127.0.0.1:8787'\n"
                       "$env:ANTHROPIC_API_KEY = 'tg-local-0123456789abcdef'");
    QCOMPARE(dialog.commands(), powerShell);
    QTest::mouseClick(buttonOf(&dialog, QStringLiteral("&Copy")), Qt::LeftButton);
    QCOMPARE(QGuiApplication::clipboard()->text(), powerShell);
    dialog.setShell(int(ClientSetup::Shell::Cmd));
    QCOMPARE(dialog.commands(),
             QStringLiteral("set \"ANTHROPIC_BASE_URL=http://127.0.0.1:8787\"\n"
                            "set \"ANTHROPIC_API_KEY=tg-local-0123456789abcdef\""));
}

void tst_ClaudeCodeSettings::dialogAppliesAndUndoes()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    writeAll(path, kOriginal);
    ClaudeCodeSetupDialog dialog(kBaseUrl, kKey, path);
    QPushButton *apply = buttonOf(&dialog, QStringLiteral("&Apply to Claude Code"));
    QPushButton *undo = buttonOf(&dialog, QStringLiteral("&Undo"));
    QVERIFY(apply->isEnabled());
    QVERIFY(!undo->isEnabled());

    QTest::mouseClick(apply, Qt::LeftButton);
    QVERIFY(ClaudeCodeSettings::isApplied(path, kBaseUrl, kKey));
    QVERIFY2(dialog.resultText().contains(ClaudeCodeSettings::backupPath(path)),
             qPrintable(dialog.resultText()));
    QVERIFY(!apply->isEnabled());
    QVERIFY(undo->isEnabled());

    QTest::mouseClick(undo, Qt::LeftButton);
    QCOMPARE(readAll(path), kOriginal);
    QVERIFY2(dialog.resultText().contains(QStringLiteral("back as they were")),
             qPrintable(dialog.resultText()));
    QVERIFY(apply->isEnabled());
    QVERIFY(!undo->isEnabled());
}

void tst_ClaudeCodeSettings::dialogShowsWhyItCannotApply()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("settings.json"));
    const QByteArray malformed = "{\"model\": ";
    writeAll(path, malformed);
    ClaudeCodeSetupDialog dialog(kBaseUrl, kKey, path);
    QTest::mouseClick(buttonOf(&dialog, QStringLiteral("&Apply to Claude Code")), Qt::LeftButton);
    QVERIFY2(dialog.resultText().contains(QStringLiteral("not valid JSON")),
             qPrintable(dialog.resultText()));
    QCOMPARE(readAll(path), malformed);
}

QTEST_MAIN(tst_ClaudeCodeSettings)
#include "tst_ClaudeCodeSettings.moc"
