// The Settings page offscreen, driven as a user would: typing, Save, Revert.
#include "SettingsPage.h"
#include "TestFiles.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
template<typename T>
T *byAccessibleName(QWidget *parent, const QString &name)
{
    const QList<T *> widgets = parent->findChildren<T *>();
    for (T *widget : widgets) {
        if (widget->accessibleName() == name)
            return widget;
    }
    return nullptr;
}

QCheckBox *checkBox(QWidget *parent, const QString &text)
{
    const QList<QCheckBox *> boxes = parent->findChildren<QCheckBox *>();
    for (QCheckBox *candidate : boxes) {
        if (candidate->text() == text)
            return candidate;
    }
    return nullptr;
}

QPushButton *button(QWidget *parent, const QString &text)
{
    const QList<QPushButton *> buttons = parent->findChildren<QPushButton *>();
    for (QPushButton *candidate : buttons) {
        if (candidate->text() == text)
            return candidate;
    }
    return nullptr;
}

void retype(QLineEdit *edit, const QString &text)
{
    edit->setFocus();
    edit->selectAll();
    QTest::keyClick(edit, Qt::Key_Backspace);
    QTest::keyClicks(edit, text);
}
} // namespace

class tst_SettingsPage final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void showsTheFileInItsFields();
    void refusesAPortOutOfRangeAndWritesNothing();
    void savesAValidChangeAndAnnouncesIt();
    void revertDropsUnsavedEdits();
    void savesTheDesktopOptionsWithoutRestartingTheGateway();
    void showsAFailedDesktopOption();
    void showsOnlyTheRowsOfTheChosenStorage();
    void appliesThePromptCacheWithoutARestart();
    void masksThePostgresqlPassword();
    void everyInputHasAnAccessibleName();
    void neverSavesOverAFileItCannotRead();

private:
    QString path() const { return m_dir->filePath(QStringLiteral("config.json")); }
    QString databasePath() const { return m_dir->filePath(QStringLiteral("requests.sqlite")); }
    std::unique_ptr<SettingsPage> makePage(SettingsPage::DesktopOptions desktop = {});

    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_SettingsPage::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    writeAll(path(), R"({"port": 8787, "billing_tag": "team-a"})");
}

std::unique_ptr<SettingsPage> tst_SettingsPage::makePage(SettingsPage::DesktopOptions desktop)
{
    auto page = std::make_unique<SettingsPage>(path(), std::move(desktop), nullptr, databasePath());
    page->show();
    page->activateWindow();
    if (!QTest::qWaitForWindowActive(page.get()))
        qWarning("the page's window did not become active");
    return page;
}

void tst_SettingsPage::showsTheFileInItsFields()
{
    auto page = makePage();
    QCOMPARE(byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Port"))->text(),
             QStringLiteral("8787"));
    QCOMPARE(byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Billing tag"))->text(),
             QStringLiteral("team-a"));
    QCOMPARE(byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Database file"))->text(),
             databasePath());
    QVERIFY(!page->isModified());
    QVERIFY(!button(page.get(), QStringLiteral("&Save"))->isEnabled());
}

void tst_SettingsPage::refusesAPortOutOfRangeAndWritesNothing()
{
    auto page = makePage();
    QSignalSpy saved(page.get(), &SettingsPage::settingsSaved);
    const QByteArray before = readAll(path());
    QLineEdit *port = byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Port"));
    retype(port, QStringLiteral("70000"));
    QVERIFY(page->isModified());
    QPushButton *save = button(page.get(), QStringLiteral("&Save"));
    QVERIFY(save->isEnabled());
    QTest::mouseClick(save, Qt::LeftButton);

    QLabel *error = byAccessibleName<QLabel>(page.get(), QStringLiteral("Port error"));
    QVERIFY(error);
    QVERIFY(error->isVisible());
    QCOMPARE(error->text(), QStringLiteral("Port must be 0–65535."));
    QCOMPARE(port->accessibleDescription(), error->text());
    QCOMPARE(readAll(path()), before);
    QCOMPARE(saved.count(), 0);
    QVERIFY(port->hasFocus());

    // Fixing the value clears the error as the user types.
    retype(port, QStringLiteral("9000"));
    QVERIFY(!error->isVisible());
}

void tst_SettingsPage::savesAValidChangeAndAnnouncesIt()
{
    auto page = makePage();
    QSignalSpy saved(page.get(), &SettingsPage::settingsSaved);
    retype(byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Port")), QStringLiteral("9400"));
    QVERIFY(page->save());
    QCOMPARE(saved.count(), 1);
    const QJsonObject settings = QJsonDocument::fromJson(readAll(path())).object();
    QCOMPARE(settings.value(QStringLiteral("port")).toInt(), 9400);
    QCOMPARE(settings.value(QStringLiteral("billing_tag")).toString(), QStringLiteral("team-a"));
    QVERIFY(!page->isModified());
    QVERIFY(!button(page.get(), QStringLiteral("&Save"))->isEnabled());
    QCOMPARE(byAccessibleName<QLabel>(page.get(), QStringLiteral("Settings status"))->text(),
             QStringLiteral("Saved."));

    // The keyboard shortcut saves too.
    retype(byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Billing tag")),
           QStringLiteral("team-b"));
    QTest::keySequence(page.get(), QKeySequence::Save);
    QCOMPARE(saved.count(), 2);
    QCOMPARE(QJsonDocument::fromJson(readAll(path()))
                 .object()
                 .value(QStringLiteral("billing_tag"))
                 .toString(),
             QStringLiteral("team-b"));
}

void tst_SettingsPage::revertDropsUnsavedEdits()
{
    auto page = makePage();
    QLineEdit *tag = byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Billing tag"));
    retype(tag, QStringLiteral("changed"));
    QVERIFY(page->isModified());
    QTest::mouseClick(button(page.get(), QStringLiteral("&Revert")), Qt::LeftButton);
    QCOMPARE(tag->text(), QStringLiteral("team-a"));
    QVERIFY(!page->isModified());
}

void tst_SettingsPage::savesTheDesktopOptionsWithoutRestartingTheGateway()
{
    bool startAtLogin = false;
    bool startMinimised = true;
    SettingsPage::DesktopOptions desktop;
    desktop.startAtLogin = [&] { return startAtLogin; };
    desktop.setStartAtLogin = [&](bool enabled, QString *) {
        startAtLogin = enabled;
        return true;
    };
    desktop.startMinimised = [&] { return startMinimised; };
    desktop.setStartMinimised = [&](bool enabled) { startMinimised = enabled; };
    auto page = makePage(std::move(desktop));
    QSignalSpy saved(page.get(), &SettingsPage::settingsSaved);
    const QByteArray before = readAll(path());

    QCheckBox *login = checkBox(page.get(), QStringLiteral("Start Tollgate when I &log in"));
    QCheckBox *minimised = checkBox(page.get(), QStringLiteral("Start &minimised to the tray"));
    QVERIFY(!login->isChecked());
    QVERIFY(minimised->isChecked());
    login->setFocus();
    QTest::keyClick(login, Qt::Key_Space);
    minimised->setChecked(false);
    QVERIFY(page->isModified());
    QVERIFY(page->save());
    QVERIFY(startAtLogin);
    QVERIFY(!startMinimised);
    QCOMPARE(saved.count(), 0);
    QCOMPARE(readAll(path()), before);
    QVERIFY(!page->isModified());
}

void tst_SettingsPage::showsAFailedDesktopOption()
{
    SettingsPage::DesktopOptions desktop;
    desktop.startAtLogin = [] { return false; };
    desktop.setStartAtLogin = [](bool, QString *error) {
        *error = QStringLiteral("the autostart folder is read-only");
        return false;
    };
    auto page = makePage(std::move(desktop));
    QCheckBox *login = checkBox(page.get(), QStringLiteral("Start Tollgate when I &log in"));
    QVERIFY(login->isVisible());
    QVERIFY(!checkBox(page.get(), QStringLiteral("Start &minimised to the tray"))->isVisible());
    login->setChecked(true);
    QVERIFY(!page->save());
    QLabel *error = byAccessibleName<QLabel>(page.get(), QStringLiteral("Desktop options error"));
    QVERIFY(error->isVisible());
    QVERIFY(error->text().contains(QStringLiteral("read-only")));
    QVERIFY(page->isModified());
}

void tst_SettingsPage::showsOnlyTheRowsOfTheChosenStorage()
{
    auto page = makePage();
    auto *storage = byAccessibleName<QComboBox>(page.get(), QStringLiteral("Request log storage"));
    QLineEdit *file = byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Database file"));
    QLineEdit *connection =
        byAccessibleName<QLineEdit>(page.get(), QStringLiteral("PostgreSQL connection"));
    QLineEdit *retention =
        byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Days to keep requests"));
    QVERIFY(file->isVisible());
    QVERIFY(!connection->isVisible());
    storage->setCurrentIndex(storage->findData(int(SettingsForm::Storage::Postgresql)));
    QVERIFY(!file->isVisible());
    QVERIFY(connection->isVisible());
    storage->setCurrentIndex(storage->findData(int(SettingsForm::Storage::Off)));
    QVERIFY(!connection->isVisible());
    QVERIFY(!retention->isVisible());

    QSignalSpy saved(page.get(), &SettingsPage::settingsSaved);
    QVERIFY(page->save());
    QCOMPARE(saved.count(), 1);
    QCOMPARE(QJsonDocument::fromJson(readAll(path()))
                 .object()
                 .value(QStringLiteral("database"))
                 .toString(),
             QStringLiteral("off"));
}

void tst_SettingsPage::appliesThePromptCacheWithoutARestart()
{
    auto page = makePage();
    QCheckBox *inject = checkBox(page.get(), QStringLiteral("Add cache &markers to requests"));
    auto *ttl = byAccessibleName<QComboBox>(page.get(), QStringLiteral("Cache lifetime"));
    QVERIFY(inject && ttl);
    QVERIFY(inject->isChecked());
    QCOMPARE(ttl->currentText(), QStringLiteral("5 minutes (default)"));
    QVERIFY(ttl->isEnabled());
    bool hasCostHint = false;
    for (const QLabel *label : page->findChildren<QLabel *>())
        hasCostHint = hasCostHint
            || (label->isVisible() && label->text().contains(QStringLiteral("2×"))
                && label->text().contains(QStringLiteral("1.25×")));
    QVERIFY(hasCostHint);

    QSignalSpy saved(page.get(), &SettingsPage::settingsSaved);
    QSignalSpy applied(page.get(), &SettingsPage::promptCacheChanged);
    // 1 hour, chosen with the keyboard.
    ttl->setFocus();
    QTest::keyClick(ttl, Qt::Key_Down);
    QCOMPARE(ttl->currentText(), QStringLiteral("1 hour"));
    QVERIFY(page->isModified());
    QVERIFY(page->save());
    QCOMPARE(objectOfFile(path()).value(QStringLiteral("prompt_cache")).toObject(),
             (QJsonObject {{QStringLiteral("inject"), true},
                           {QStringLiteral("ttl"), QStringLiteral("1h")}}));
    QCOMPARE(objectOfFile(path()).value(QStringLiteral("billing_tag")).toString(),
             QStringLiteral("team-a"));
    // The running gateway takes it as it is: no restart.
    QCOMPARE(saved.count(), 0);
    QCOMPARE(applied.count(), 1);
    auto policy = applied.at(0).at(0).value<CacheInjector::Policy>();
    QVERIFY(policy.isEnabled);
    QCOMPARE(policy.ttl, CacheInjector::Ttl::OneHour);
    QVERIFY(byAccessibleName<QLabel>(page.get(), QStringLiteral("Settings status"))
                ->text()
                .contains(QStringLiteral("no restart")));

    // Off: the lifetime no longer applies.
    inject->setFocus();
    QTest::keyClick(inject, Qt::Key_Space);
    QVERIFY(!inject->isChecked());
    QVERIFY(!ttl->isEnabled());
    QVERIFY(page->save());
    QCOMPARE(objectOfFile(path()).value(QStringLiteral("prompt_cache")).toObject(),
             (QJsonObject {{QStringLiteral("inject"), false},
                           {QStringLiteral("ttl"), QStringLiteral("1h")}}));
    QCOMPARE(applied.count(), 2);
    QVERIFY(!applied.at(1).at(0).value<CacheInjector::Policy>().isEnabled);
    QCOMPARE(saved.count(), 0);

    // Reopened, the page shows what was saved.
    page.reset();
    page = makePage();
    inject = checkBox(page.get(), QStringLiteral("Add cache &markers to requests"));
    ttl = byAccessibleName<QComboBox>(page.get(), QStringLiteral("Cache lifetime"));
    QVERIFY(!inject->isChecked());
    QCOMPARE(ttl->currentText(), QStringLiteral("1 hour"));
    QVERIFY(!ttl->isEnabled());
    QVERIFY(!page->isModified());

    // Together with a setting read at start: both announced.
    QSignalSpy savedAgain(page.get(), &SettingsPage::settingsSaved);
    QSignalSpy appliedAgain(page.get(), &SettingsPage::promptCacheChanged);
    inject->setChecked(true);
    retype(byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Port")), QStringLiteral("9401"));
    QVERIFY(page->save());
    QCOMPARE(savedAgain.count(), 1);
    QCOMPARE(appliedAgain.count(), 1);
    QVERIFY(appliedAgain.at(0).at(0).value<CacheInjector::Policy>().isEnabled);
}

void tst_SettingsPage::masksThePostgresqlPassword()
{
    writeAll(path(), R"({"database": "postgresql://tg:hunter2@db.example/ledger"})");
    auto page = makePage();
    QLineEdit *connection =
        byAccessibleName<QLineEdit>(page.get(), QStringLiteral("PostgreSQL connection"));
    QLineEdit *password =
        byAccessibleName<QLineEdit>(page.get(), QStringLiteral("PostgreSQL password"));
    QCOMPARE(connection->text(), QStringLiteral("postgresql://tg@db.example/ledger"));
    QCOMPARE(password->echoMode(), QLineEdit::Password);
    QVERIFY(password->displayText() != QStringLiteral("hunter2"));
}

void tst_SettingsPage::everyInputHasAnAccessibleName()
{
    auto page = makePage();
    const QList<QWidget *> widgets = page->findChildren<QWidget *>();
    for (QWidget *widget : widgets) {
        const bool isInput = qobject_cast<QLineEdit *>(widget) || qobject_cast<QComboBox *>(widget)
            || qobject_cast<QCheckBox *>(widget) || qobject_cast<QPushButton *>(widget);
        if (!isInput || widget->parent()->inherits("QComboBox"))
            continue;
        const bool hasName = !widget->accessibleName().isEmpty()
            || (qobject_cast<QAbstractButton *>(widget)
                && !qobject_cast<QAbstractButton *>(widget)->text().isEmpty());
        QVERIFY2(hasName, widget->metaObject()->className());
    }
}

void tst_SettingsPage::neverSavesOverAFileItCannotRead()
{
    const QByteArray malformed = R"({"port": 8787,)";
    writeAll(path(), malformed);
    auto page = makePage();
    QSignalSpy saved(page.get(), &SettingsPage::settingsSaved);
    QLabel *status = byAccessibleName<QLabel>(page.get(), QStringLiteral("Settings status"));
    QVERIFY2(status->text().contains(QStringLiteral("cannot be read")), qPrintable(status->text()));
    retype(byAccessibleName<QLineEdit>(page.get(), QStringLiteral("Port")), QStringLiteral("9000"));
    QVERIFY(!page->save());
    QVERIFY2(status->text().contains(QStringLiteral("not valid JSON")), qPrintable(status->text()));
    QCOMPARE(readAll(path()), malformed);
    QCOMPARE(saved.count(), 0);
}

QTEST_MAIN(tst_SettingsPage)
#include "tst_SettingsPage.moc"
