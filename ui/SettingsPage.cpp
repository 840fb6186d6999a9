#include "SettingsPage.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QShortcut>
#include <QVBoxLayout>

namespace tollgate {

using Field = SettingsForm::Field;
using Storage = SettingsForm::Storage;

SettingsPage::SettingsPage(const QString &configPath, DesktopOptions desktop, QWidget *parent,
                           const QString &defaultDatabasePath)
    : QWidget(parent)
    , m_form(configPath, defaultDatabasePath)
    , m_desktop(std::move(desktop))
{
    setAccessibleName(tr("Settings"));

    auto *content = new QWidget;
    auto *contentLayout = new QVBoxLayout(content);
    contentLayout->addWidget(gatewayGroup());
    contentLayout->addWidget(promptCacheGroup());
    contentLayout->addWidget(storageGroup());
    contentLayout->addWidget(desktopGroup());
    contentLayout->addStretch();

    auto *scroll = new QScrollArea;
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);

    m_status = new QLabel;
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setAccessibleName(tr("Settings status"));
    m_revertButton = new QPushButton(tr("&Revert"));
    m_revertButton->setAccessibleDescription(
        tr("Drop unsaved changes and show the saved settings"));
    m_saveButton = new QPushButton(tr("&Save"));
    m_saveButton->setAccessibleDescription(
        tr("Write the settings; the proxy takes them without cutting a request in flight"));
    connect(m_revertButton, &QPushButton::clicked, this, &SettingsPage::revert);
    connect(m_saveButton, &QPushButton::clicked, this, &SettingsPage::save);
    auto *saveShortcut = new QShortcut(QKeySequence::Save, this);
    saveShortcut->setContext(Qt::WidgetWithChildrenShortcut);
    connect(saveShortcut, &QShortcut::activated, this, &SettingsPage::save);

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_status, 1);
    buttons->addWidget(m_revertButton);
    buttons->addWidget(m_saveButton);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(scroll, 1);
    layout->addLayout(buttons);

    chainTabOrder();
    revert();
}

SettingsPage::~SettingsPage() = default;

QWidget *SettingsPage::gatewayGroup()
{
    auto *group = new QGroupBox(tr("Gateway"));
    auto *form = new QFormLayout(group);
    m_listen = addLineEdit(form, tr("&Listen address:"), tr("Listen address"), Field::Listen);
    m_listen->setToolTip(tr("127.0.0.1 accepts connections from this computer only."));
    m_port = addLineEdit(form, tr("&Port:"), tr("Port"), Field::Port);
    m_port->setInputMethodHints(Qt::ImhDigitsOnly);
    m_upstream = addLineEdit(form, tr("&Upstream:"), tr("Upstream address"), Field::Upstream);
    m_upstream->setInputMethodHints(Qt::ImhUrlCharactersOnly);
    m_billingTag = addLineEdit(form, tr("&Billing tag:"), tr("Billing tag"), Field::BillingTag);
    m_billingTag->setPlaceholderText(tr("None"));
    m_billingTag->setToolTip(tr("Recorded with every request that does not name its own tag."));
    return group;
}

QWidget *SettingsPage::promptCacheGroup()
{
    auto *group = new QGroupBox(tr("Prompt cache"));
    auto *form = new QFormLayout(group);
    m_injectCache = new QCheckBox(tr("Add cache &markers to requests"));
    m_injectCache->setToolTip(
        tr("Tollgate marks where a request's prompt can be cached when the client did not "
           "(never more than the API's 4 markers). A virtual key can opt out on the Keys "
           "page."));
    form->addRow(m_injectCache);
    m_cacheTtl = new QComboBox;
    m_cacheTtl->setAccessibleName(tr("Cache lifetime"));
    m_cacheTtl->addItem(tr("5 minutes (default)"), int(CacheInjector::Ttl::FiveMinutes));
    m_cacheTtl->addItem(tr("1 hour"), int(CacheInjector::Ttl::OneHour));
    form->addRow(tr("Cache &lifetime:"), m_cacheTtl);
    auto *hint = new QLabel(tr("1-hour entries cost 2× the input price to write instead of "
                               "1.25×: they pay off when a prompt comes back after more "
                               "than 5 minutes."));
    hint->setWordWrap(true);
    form->addRow(hint);
    connect(m_injectCache, &QCheckBox::toggled, this, [this](bool isChecked) {
        m_cacheTtl->setEnabled(isChecked);
        updateButtons();
    });
    connect(m_cacheTtl, &QComboBox::currentIndexChanged, this, &SettingsPage::updateButtons);
    return group;
}

QWidget *SettingsPage::storageGroup()
{
    auto *group = new QGroupBox(tr("Request log"));
    m_storageForm = new QFormLayout(group);

    m_storage = new QComboBox;
    m_storage->setAccessibleName(tr("Request log storage"));
    m_storage->addItem(tr("SQLite file on this computer"), int(Storage::Sqlite));
    m_storage->addItem(tr("PostgreSQL server"), int(Storage::Postgresql));
    m_storage->addItem(tr("Off (count requests, keep no log)"), int(Storage::Off));
    m_storageForm->addRow(tr("S&torage:"), m_storage);
    connect(m_storage, &QComboBox::currentIndexChanged, this, [this] {
        updateStorageRows();
        showFieldError(Field::SqlitePath, QString());
        showFieldError(Field::PostgresqlConnection, QString());
        updateButtons();
    });

    m_browseDatabase = new QPushButton(tr("Bro&wse…"));
    m_browseDatabase->setAccessibleName(tr("Choose the database file"));
    connect(m_browseDatabase, &QPushButton::clicked, this, &SettingsPage::chooseDatabaseFile);
    m_sqlitePath = addLineEdit(m_storageForm, tr("Database &file:"), tr("Database file"),
                               Field::SqlitePath, m_browseDatabase);

    m_postgresqlConnection = addLineEdit(m_storageForm, tr("&Connection:"),
                                         tr("PostgreSQL connection"), Field::PostgresqlConnection);
    m_postgresqlConnection->setPlaceholderText(
        QStringLiteral("postgresql://user@host:5432/tollgate?sslmode=require"));
    m_postgresqlPassword = new QLineEdit;
    // Shown masked only, and never copied out: the settings file is the one place it lives.
    m_postgresqlPassword->setEchoMode(QLineEdit::Password);
    m_postgresqlPassword->setAccessibleName(tr("PostgreSQL password"));
    m_postgresqlPassword->setPlaceholderText(tr("None"));
    m_storageForm->addRow(tr("Pass&word:"), m_postgresqlPassword);
    connect(m_postgresqlPassword, &QLineEdit::textEdited, this, &SettingsPage::updateButtons);

    m_retentionDays = addLineEdit(m_storageForm, tr("&Keep requests for (days):"),
                                  tr("Days to keep requests"), Field::RetentionDays);
    m_retentionDays->setInputMethodHints(Qt::ImhDigitsOnly);
    m_retentionDays->setToolTip(tr("0 keeps every request."));

    m_browsePrices = new QPushButton(tr("Br&owse…"));
    m_browsePrices->setAccessibleName(tr("Choose the prices file"));
    connect(m_browsePrices, &QPushButton::clicked, this, &SettingsPage::choosePricesFile);
    m_pricesFile = addLineEdit(m_storageForm, tr("Prices &file:"), tr("Prices file"),
                               Field::PricesFile, m_browsePrices);
    m_pricesFile->setPlaceholderText(tr("None: the built-in prices"));
    m_pricesFile->setToolTip(tr("A JSON file of model prices that add to or correct the "
                                "built-in ones: a copy of prices.json or model entries."));
    return group;
}

QWidget *SettingsPage::desktopGroup()
{
    auto *group = new QGroupBox(tr("Desktop"));
    auto *layout = new QVBoxLayout(group);
    m_startAtLogin = new QCheckBox(tr("Start Tollgate when I &log in"));
    m_startMinimised = new QCheckBox(tr("Start &minimised to the tray"));
    m_startAtLogin->setVisible(bool(m_desktop.startAtLogin));
    m_startMinimised->setVisible(bool(m_desktop.startMinimised));
    connect(m_startAtLogin, &QCheckBox::toggled, this, &SettingsPage::updateButtons);
    connect(m_startMinimised, &QCheckBox::toggled, this, &SettingsPage::updateButtons);
    m_desktopError = new QLabel;
    m_desktopError->setWordWrap(true);
    m_desktopError->setAccessibleName(tr("Desktop options error"));
    m_desktopError->hide();
    auto *theme = new QLabel(tr("Colours follow the system's light or dark theme."));
    theme->setWordWrap(true);
    layout->addWidget(m_startAtLogin);
    layout->addWidget(m_startMinimised);
    layout->addWidget(m_desktopError);
    layout->addWidget(theme);
    return group;
}

QLineEdit *SettingsPage::addLineEdit(QFormLayout *form, const QString &label,
                                     const QString &accessibleName, Field field, QWidget *trailing)
{
    auto *edit = new QLineEdit;
    edit->setAccessibleName(accessibleName);
    auto *error = new QLabel;
    error->setWordWrap(true);
    error->setAccessibleName(tr("%1 error").arg(accessibleName));
    error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error->hide();

    auto *row = new QWidget;
    auto *rowLayout = new QVBoxLayout(row);
    rowLayout->setContentsMargins(0, 0, 0, 0);
    auto *editLine = new QHBoxLayout;
    editLine->addWidget(edit, 1);
    if (trailing)
        editLine->addWidget(trailing);
    rowLayout->addLayout(editLine);
    rowLayout->addWidget(error);
    // The label's mnemonic gives focus to the row; the row hands it to the editor.
    row->setFocusProxy(edit);
    form->addRow(label, row);

    m_editors.insert(field, edit);
    m_errorLabels.insert(field, error);
    m_rows.insert(field, row);
    connect(edit, &QLineEdit::textEdited, this, [this, field, error] {
        // Once a field shows an error, it is checked as the user types, so the error goes
        // as soon as the value is right; before that, only when the user leaves the field.
        if (!error->text().isEmpty())
            checkField(field);
        updateButtons();
    });
    connect(edit, &QLineEdit::editingFinished, this, [this, field] { checkField(field); });
    return edit;
}

void SettingsPage::chainTabOrder()
{
    const QList<QWidget *> order = {
        m_listen,
        m_port,
        m_upstream,
        m_billingTag,
        m_injectCache,
        m_cacheTtl,
        m_storage,
        m_sqlitePath,
        m_browseDatabase,
        m_postgresqlConnection,
        m_postgresqlPassword,
        m_retentionDays,
        m_pricesFile,
        m_browsePrices,
        m_startAtLogin,
        m_startMinimised,
        m_revertButton,
        m_saveButton,
    };
    for (qsizetype i = 1; i < order.size(); ++i)
        QWidget::setTabOrder(order.at(i - 1), order.at(i));
}

bool SettingsPage::isModified() const
{
    return m_form.isModified(editedValues())
        || (m_desktop.startAtLogin && m_startAtLogin->isChecked() != m_loadedStartAtLogin)
        || (m_desktop.startMinimised && m_startMinimised->isChecked() != m_loadedStartMinimised);
}

void SettingsPage::revert()
{
    QString error;
    // A file that cannot be read is not written either (ConfigFile::save refuses it): Save
    // reports the same reason until the file is fixed.
    const bool isLoaded = m_form.load(&error);
    showValues(m_form.loaded());
    showErrors({});
    showStatus(
        isLoaded ? QString()
                 : tr("The settings cannot be read, so they cannot be saved here: %1").arg(error));
    m_loadedStartAtLogin = m_desktop.startAtLogin && m_desktop.startAtLogin();
    m_loadedStartMinimised = m_desktop.startMinimised && m_desktop.startMinimised();
    m_startAtLogin->setChecked(m_loadedStartAtLogin);
    m_startMinimised->setChecked(m_loadedStartMinimised);
    m_desktopError->hide();
    updateButtons();
}

bool SettingsPage::save()
{
    SettingsForm::Errors errors;
    QString error;
    const SettingsForm::SaveResult result = m_form.save(editedValues(), &errors, &error);
    showErrors(errors);
    switch (result) {
    case SettingsForm::SaveResult::Invalid:
        showStatus(tr("Nothing was saved: correct the fields marked above."));
        m_editors.value(errors.firstKey())->setFocus(Qt::OtherFocusReason);
        return false;
    case SettingsForm::SaveResult::Failed:
        showStatus(tr("Nothing was saved: %1").arg(error));
        return false;
    case SettingsForm::SaveResult::Written:
        showValues(m_form.loaded());
        break;
    case SettingsForm::SaveResult::Unchanged:
        break;
    }
    const bool areDesktopOptionsSaved = saveDesktopOptions();
    const QJsonObject written = m_form.lastChanges();
    const bool isPromptCacheOnly =
        SettingsForm::changesPromptCache(written) && !SettingsForm::needsRestart(written);
    if (!areDesktopOptionsSaved)
        showStatus(tr("The gateway settings were saved; a desktop option was not (see above)."));
    else if (isPromptCacheOnly)
        showStatus(
            tr("Saved. New requests use the prompt-cache settings at once: no restart needed."));
    else
        showStatus(tr("Saved."));
    updateButtons();
    if (SettingsForm::changesPromptCache(written))
        emit promptCacheChanged(SettingsForm::promptCachePolicy(m_form.loaded()));
    if (SettingsForm::needsRestart(written))
        emit settingsSaved();
    return areDesktopOptionsSaved;
}

bool SettingsPage::saveDesktopOptions()
{
    m_desktopError->hide();
    if (m_desktop.setStartMinimised && m_startMinimised->isChecked() != m_loadedStartMinimised) {
        m_desktop.setStartMinimised(m_startMinimised->isChecked());
        m_loadedStartMinimised = m_startMinimised->isChecked();
    }
    if (!m_desktop.setStartAtLogin || m_startAtLogin->isChecked() == m_loadedStartAtLogin)
        return true;
    QString error;
    if (!m_desktop.setStartAtLogin(m_startAtLogin->isChecked(), &error)) {
        m_desktopError->setText(tr("Start at login could not be changed: %1").arg(error));
        m_desktopError->show();
        return false;
    }
    m_loadedStartAtLogin = m_startAtLogin->isChecked();
    return true;
}

SettingsForm::Values SettingsPage::editedValues() const
{
    SettingsForm::Values values;
    values.listen = m_listen->text();
    values.port = m_port->text();
    values.upstream = m_upstream->text();
    values.storage = Storage(m_storage->currentData().toInt());
    values.sqlitePath = m_sqlitePath->text();
    values.postgresqlConnection = m_postgresqlConnection->text();
    values.postgresqlPassword = m_postgresqlPassword->text();
    values.retentionDays = m_retentionDays->text();
    values.pricesFile = m_pricesFile->text();
    values.billingTag = m_billingTag->text();
    values.injectsCache = m_injectCache->isChecked();
    values.cacheTtl = CacheInjector::Ttl(m_cacheTtl->currentData().toInt());
    return values;
}

void SettingsPage::showValues(const SettingsForm::Values &values)
{
    m_listen->setText(values.listen);
    m_port->setText(values.port);
    m_upstream->setText(values.upstream);
    m_storage->setCurrentIndex(m_storage->findData(int(values.storage)));
    m_sqlitePath->setText(values.sqlitePath);
    m_postgresqlConnection->setText(values.postgresqlConnection);
    m_postgresqlPassword->setText(values.postgresqlPassword);
    m_retentionDays->setText(values.retentionDays);
    m_pricesFile->setText(values.pricesFile);
    m_billingTag->setText(values.billingTag);
    m_injectCache->setChecked(values.injectsCache);
    m_cacheTtl->setCurrentIndex(m_cacheTtl->findData(int(values.cacheTtl)));
    m_cacheTtl->setEnabled(values.injectsCache);
    updateStorageRows();
}

void SettingsPage::showErrors(const SettingsForm::Errors &errors)
{
    for (auto it = m_errorLabels.cbegin(); it != m_errorLabels.cend(); ++it)
        showFieldError(it.key(), errors.value(it.key()));
}

void SettingsPage::showFieldError(Field field, const QString &error)
{
    QLabel *label = m_errorLabels.value(field);
    label->setText(error);
    label->setVisible(!error.isEmpty());
    // Screen readers announce the error with the field.
    m_editors.value(field)->setAccessibleDescription(error);
}

void SettingsPage::checkField(Field field)
{
    showFieldError(field, SettingsForm::validateField(field, editedValues()));
}

void SettingsPage::showStatus(const QString &text)
{
    m_status->setText(text);
}

void SettingsPage::updateStorageRows()
{
    const auto storage = Storage(m_storage->currentData().toInt());
    m_storageForm->setRowVisible(m_rows.value(Field::SqlitePath), storage == Storage::Sqlite);
    m_storageForm->setRowVisible(m_rows.value(Field::PostgresqlConnection),
                                 storage == Storage::Postgresql);
    m_storageForm->setRowVisible(m_postgresqlPassword, storage == Storage::Postgresql);
    m_storageForm->setRowVisible(m_rows.value(Field::RetentionDays), storage != Storage::Off);
}

void SettingsPage::updateButtons()
{
    const bool isChanged = isModified();
    m_saveButton->setEnabled(isChanged);
    m_revertButton->setEnabled(isChanged);
}

void SettingsPage::chooseDatabaseFile()
{
    // Asynchronous (open(), not exec()): the event loop and with it the gateway's signals
    // keep running while the dialog is up.
    auto *dialog = new QFileDialog(this, tr("Request log database"),
                                   QFileInfo(m_sqlitePath->text()).absolutePath(),
                                   tr("SQLite databases (*.sqlite *.db);;All files (*)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    // An existing database is opened and kept, never overwritten: no question to ask.
    dialog->setOption(QFileDialog::DontConfirmOverwrite);
    dialog->selectFile(m_sqlitePath->text());
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString &path) {
        m_sqlitePath->setText(QDir::toNativeSeparators(path));
        checkField(Field::SqlitePath);
        updateButtons();
    });
    dialog->open();
}

void SettingsPage::choosePricesFile()
{
    const QString current = m_pricesFile->text().trimmed();
    auto *dialog =
        new QFileDialog(this, tr("Prices file"),
                        current.isEmpty() ? QDir::homePath() : QFileInfo(current).absolutePath(),
                        tr("JSON files (*.json);;All files (*)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::ExistingFile);
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString &path) {
        m_pricesFile->setText(QDir::toNativeSeparators(path));
        checkField(Field::PricesFile);
        updateButtons();
    });
    dialog->open();
}

} // namespace tollgate
