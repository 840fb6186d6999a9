#pragma once

#include "SettingsForm.h"

#include <QMap>
#include <QWidget>
#include <functional>

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;

namespace tollgate {

// The Settings page of the main window: the gateway's settings file (listen address and
// port, upstream, prompt cache, request log storage and retention, prices file, billing tag)
// through a SettingsForm, and the desktop options (start at login, start minimised) through the
// DesktopOptions it is given. Wrong values are shown next to their field and nothing is
// written until every field is right. Colours follow the system theme: the page sets none.
class SettingsPage : public QWidget
{
    Q_OBJECT

public:
    // The desktop app's own preferences, reached through functions so that the page does
    // not depend on where they are kept. A missing getter hides its check box.
    struct DesktopOptions
    {
        std::function<bool()> startAtLogin;
        // False with *error (for people) when the OS refused.
        std::function<bool(bool startAtLogin, QString *error)> setStartAtLogin;
        std::function<bool()> startMinimised;
        std::function<void(bool startMinimised)> setStartMinimised;
    };

    // defaultDatabasePath: the SQLite file the gateway uses when the settings name none.
    explicit SettingsPage(const QString &configPath, DesktopOptions desktop = {},
                          QWidget *parent = nullptr,
                          const QString &defaultDatabasePath = ConfigFile::defaultDatabasePath());
    ~SettingsPage() override;

    // Whether a field differs from what was loaded or saved last.
    bool isModified() const;

public slots:
    // Reads the settings file and the desktop options again, dropping unsaved edits.
    void revert();
    // Checks every field and writes the changes; false when a field is wrong or a write
    // failed (the page says which).
    bool save();

signals:
    // The settings file was written with a setting the gateway reads only at start: it must
    // restart to use it. Desktop options and the prompt cache alone do not emit it.
    void settingsSaved();
    // The prompt-cache settings were written: a running gateway takes them at once
    // (Gateway::setCacheInjection), no restart needed.
    void promptCacheChanged(const tollgate::CacheInjector::Policy &policy);

private:
    QWidget *gatewayGroup();
    QWidget *promptCacheGroup();
    QWidget *storageGroup();
    QWidget *desktopGroup();
    QLineEdit *addLineEdit(QFormLayout *form, const QString &label, const QString &accessibleName,
                           SettingsForm::Field field, QWidget *trailing = nullptr);
    void chainTabOrder();

    SettingsForm::Values editedValues() const;
    void showValues(const SettingsForm::Values &values);
    void showErrors(const SettingsForm::Errors &errors);
    void showFieldError(SettingsForm::Field field, const QString &error);
    void checkField(SettingsForm::Field field);
    void showStatus(const QString &text);
    void updateStorageRows();
    void updateButtons();
    void chooseDatabaseFile();
    void choosePricesFile();
    bool saveDesktopOptions();

    SettingsForm m_form;
    DesktopOptions m_desktop;

    QLineEdit *m_listen = nullptr;
    QLineEdit *m_port = nullptr;
    QLineEdit *m_upstream = nullptr;
    QLineEdit *m_billingTag = nullptr;
    QCheckBox *m_injectCache = nullptr;
    QComboBox *m_cacheTtl = nullptr;
    QComboBox *m_storage = nullptr;
    QLineEdit *m_sqlitePath = nullptr;
    QPushButton *m_browseDatabase = nullptr;
    QLineEdit *m_postgresqlConnection = nullptr;
    QLineEdit *m_postgresqlPassword = nullptr;
    QLineEdit *m_retentionDays = nullptr;
    QLineEdit *m_pricesFile = nullptr;
    QPushButton *m_browsePrices = nullptr;
    QFormLayout *m_storageForm = nullptr;
    QCheckBox *m_startAtLogin = nullptr;
    QCheckBox *m_startMinimised = nullptr;
    QLabel *m_desktopError = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_revertButton = nullptr;
    QPushButton *m_saveButton = nullptr;

    QMap<SettingsForm::Field, QLineEdit *> m_editors;
    QMap<SettingsForm::Field, QLabel *> m_errorLabels;
    QMap<SettingsForm::Field, QWidget *> m_rows; // editor, its buttons and its error
    bool m_loadedStartAtLogin = false;
    bool m_loadedStartMinimised = false;
};

} // namespace tollgate
