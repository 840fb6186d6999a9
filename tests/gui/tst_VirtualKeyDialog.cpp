// The virtual-key dialog offscreen: its prompt-cache switch shows the key's setting and the
// key it hands back carries what the user chose, so editing a key never turns it back on.
#include "VirtualKeyDialog.h"

#include <QCheckBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

using namespace tollgate;

class tst_VirtualKeyDialog final : public QObject
{
    Q_OBJECT

private slots:
    void newKeyGetsCacheMarkersByDefault();
    void editKeepsAKeysCacheMarkersOff();
    void turningCacheMarkersOffReachesTheKey();
};

void tst_VirtualKeyDialog::newKeyGetsCacheMarkersByDefault()
{
    VirtualKeyDialog dialog(VirtualKeyDialog::Mode::Create, VirtualKey(), {});
    QCheckBox *markers = dialog.cacheMarkersBox();
    QVERIFY(markers);
    QCOMPARE(markers->text(), QStringLiteral("Add &cache markers to this key's requests"));
    QVERIFY(markers->isChecked());
    dialog.aliasEdit()->setText(QStringLiteral("alice"));
    QVERIFY(dialog.key().injectsCache);
}

void tst_VirtualKeyDialog::editKeepsAKeysCacheMarkersOff()
{
    VirtualKey raw;
    raw.alias = QStringLiteral("raw");
    raw.injectsCache = false;
    VirtualKeyDialog dialog(VirtualKeyDialog::Mode::Edit, raw, {});
    QVERIFY(!dialog.cacheMarkersBox()->isChecked());
    // Another field changed: the switch stays as it was.
    dialog.tagEdit()->setText(QStringLiteral("team-b"));
    QSignalSpy entered(&dialog, &VirtualKeyDialog::keyEntered);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    QTest::mouseClick(dialog.okButton(), Qt::LeftButton);
    QCOMPARE(entered.count(), 1);
    const auto key = entered.at(0).at(0).value<VirtualKey>();
    QCOMPARE(key.billingTag, QStringLiteral("team-b"));
    QVERIFY(!key.injectsCache);
}

void tst_VirtualKeyDialog::turningCacheMarkersOffReachesTheKey()
{
    VirtualKey key;
    key.alias = QStringLiteral("ci");
    VirtualKeyDialog dialog(VirtualKeyDialog::Mode::Edit, key, {});
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    QCheckBox *markers = dialog.cacheMarkersBox();
    QVERIFY(markers->isChecked());
    markers->setFocus();
    QTest::keyClick(markers, Qt::Key_Space);
    QVERIFY(!markers->isChecked());
    QVERIFY(!dialog.key().injectsCache);
}

QTEST_MAIN(tst_VirtualKeyDialog)
#include "tst_VirtualKeyDialog.moc"
