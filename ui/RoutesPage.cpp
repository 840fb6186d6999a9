#include "RoutesPage.h"

#include "ProviderDialog.h"
#include "RouteDialog.h"
#include "RoutingJson.h"
#include "config/ConfigFile.h"
#include "routing/RouteTable.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace tollgate {

namespace {
QTableView *createTable(QAbstractItemModel *model, const QString &objectName,
                        const QString &accessibleName, int stretchColumn)
{
    auto *view = new QTableView;
    view->setObjectName(objectName);
    view->setAccessibleName(accessibleName);
    view->setModel(model);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->verticalHeader()->hide();
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    view->horizontalHeader()->setSectionResizeMode(stretchColumn, QHeaderView::Stretch);
    return view;
}

int selectedRow(const QTableView *view)
{
    const QModelIndexList rows = view->selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.first().row();
}

bool selectRow(QTableView *view, int row)
{
    if (row < 0 || row >= view->model()->rowCount())
        return false;
    view->selectionModel()->setCurrentIndex(view->model()->index(row, 0),
                                            QItemSelectionModel::ClearAndSelect
                                                | QItemSelectionModel::Rows);
    return true;
}

const Provider *findProvider(const QList<Provider> &providers, const QString &name)
{
    for (const Provider &provider : providers) {
        if (provider.name == name)
            return &provider;
    }
    return nullptr;
}

// The settings file names its keys by alias; the keys the app resolved from them stay with
// a provider whose aliases did not change.
void keepResolvedKeys(const QList<Provider> &from, QList<Provider> *to)
{
    for (Provider &provider : *to) {
        const Provider *known = findProvider(from, provider.name);
        if (known && known->keyAliases == provider.keyAliases
            && known->keyVariable == provider.keyVariable)
            provider.keys = known->keys;
    }
}

QString ruleName(int rule, const Route &route)
{
    return RoutesPage::tr("rule %1 (%2)").arg(rule + 1).arg(route.model);
}
} // namespace

RoutesPage::RoutesPage(const QString &configPath, QWidget *parent)
    : QWidget(parent)
    , m_configPath(configPath)
    , m_providersModel(new ProvidersModel(this))
    , m_routesModel(new RoutesModel(this))
{
    setAccessibleName(tr("Routes"));
    auto *layout = new QVBoxLayout(this);
    m_status = new QLabel;
    m_status->setObjectName(QStringLiteral("status"));
    m_status->setAccessibleName(tr("What happened"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->hide();
    layout->addWidget(m_status);

    auto *splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(providersGroup());
    splitter->addWidget(rulesGroup());
    splitter->setChildrenCollapsible(false);
    layout->addWidget(splitter, 1);
    layout->addWidget(testGroup());

    connect(m_routesModel, &QAbstractItemModel::modelReset, this, &RoutesPage::updateRulesSpan);
    setConfig(GatewayConfig());
}

RoutesPage::~RoutesPage() = default;

QWidget *RoutesPage::providersGroup()
{
    auto *group = new QGroupBox(tr("Providers"));
    auto *layout = new QVBoxLayout(group);
    auto *intro = new QLabel(tr("The vendors requests can go to. anthropic is built in: the "
                                "upstream of the Settings page with the keys of the Keys page."));
    intro->setWordWrap(true);
    layout->addWidget(intro);
    m_providersView = createTable(m_providersModel, QStringLiteral("providersTable"),
                                  tr("Providers"), ProvidersModel::BaseUrlColumn);
    layout->addWidget(m_providersView, 1);

    auto *buttons = new QHBoxLayout;
    m_addProvider =
        addButton(tr("&Add…"), QStringLiteral("addProvider"), &RoutesPage::askToAddProvider);
    m_editProvider = addButton(tr("&Edit…"), QStringLiteral("editProvider"),
                               &RoutesPage::askToEditSelectedProvider);
    m_removeProvider = addButton(tr("&Remove…"), QStringLiteral("removeProvider"),
                                 &RoutesPage::askToRemoveSelectedProvider);
    for (QPushButton *button : {m_addProvider, m_editProvider, m_removeProvider})
        buttons->addWidget(button);
    buttons->addStretch();
    layout->addLayout(buttons);
    connect(m_providersView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &RoutesPage::updateButtons);
    connect(m_providersView, &QTableView::doubleClicked, this, [this] {
        if (m_editProvider->isEnabled())
            askToEditSelectedProvider();
    });
    return group;
}

QWidget *RoutesPage::rulesGroup()
{
    auto *group = new QGroupBox(tr("Rules"));
    auto *layout = new QVBoxLayout(group);
    auto *intro = new QLabel(tr("Tried from the top: the first rule whose conditions all hold "
                                "sends the request to its providers, each next one taking over "
                                "when one answers 429 or 5xx before its first byte."));
    intro->setWordWrap(true);
    layout->addWidget(intro);
    m_rulesView = createTable(m_routesModel, QStringLiteral("rulesTable"), tr("Rules"),
                              RoutesModel::ConditionsColumn);
    layout->addWidget(m_rulesView, 1);

    auto *buttons = new QHBoxLayout;
    m_addRule = addButton(tr("A&dd…"), QStringLiteral("addRule"), &RoutesPage::askToAddRule);
    m_editRule =
        addButton(tr("Ed&it…"), QStringLiteral("editRule"), &RoutesPage::askToEditSelectedRule);
    m_removeRule = addButton(tr("Re&move…"), QStringLiteral("removeRule"),
                             &RoutesPage::askToRemoveSelectedRule);
    m_moveUp =
        addButton(tr("Move &up"), QStringLiteral("moveRuleUp"), &RoutesPage::moveSelectedRuleUp);
    m_moveDown = addButton(tr("Move do&wn"), QStringLiteral("moveRuleDown"),
                           &RoutesPage::moveSelectedRuleDown);
    for (QPushButton *button : {m_addRule, m_editRule, m_removeRule, m_moveUp, m_moveDown})
        buttons->addWidget(button);
    buttons->addStretch();
    layout->addLayout(buttons);
    connect(m_rulesView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &RoutesPage::updateButtons);
    connect(m_rulesView, &QTableView::doubleClicked, this, [this] {
        if (m_editRule->isEnabled())
            askToEditSelectedRule();
    });
    return group;
}

QWidget *RoutesPage::testGroup()
{
    auto *group = new QGroupBox(tr("Test a model"));
    auto *layout = new QVBoxLayout(group);
    auto *fields = new QHBoxLayout;
    m_testModel = new QLineEdit;
    m_testModel->setObjectName(QStringLiteral("testModel"));
    m_testModel->setAccessibleName(tr("Model to test"));
    m_testModel->setPlaceholderText(tr("a model a client asks for, e.g. gpt-5"));
    m_testModel->setClearButtonEnabled(true);
    fields->addWidget(m_testModel, 2);
    auto *keyLabel = new QLabel(tr("&Virtual key:"));
    m_testKey = new QComboBox;
    m_testKey->setObjectName(QStringLiteral("testVirtualKey"));
    m_testKey->setAccessibleName(tr("Virtual key of the test request"));
    m_testKey->setEditable(true);
    m_testKey->setMinimumContentsLength(12);
    keyLabel->setBuddy(m_testKey);
    fields->addWidget(keyLabel);
    fields->addWidget(m_testKey, 1);
    auto *tokensLabel = new QLabel(tr("&Prompt tokens:"));
    m_testTokens = new QSpinBox;
    m_testTokens->setObjectName(QStringLiteral("testPromptTokens"));
    m_testTokens->setAccessibleName(tr("Prompt tokens of the test request"));
    m_testTokens->setRange(0, 1'000'000'000);
    m_testTokens->setGroupSeparatorShown(true);
    m_testTokens->setSingleStep(1000);
    tokensLabel->setBuddy(m_testTokens);
    fields->addWidget(tokensLabel);
    fields->addWidget(m_testTokens);
    m_testThinking = new QCheckBox(tr("&Thinking on"));
    m_testThinking->setObjectName(QStringLiteral("testThinking"));
    fields->addWidget(m_testThinking);
    layout->addLayout(fields);
    m_testResult = new QLabel;
    m_testResult->setObjectName(QStringLiteral("testResult"));
    m_testResult->setAccessibleName(tr("Where the test request goes"));
    m_testResult->setWordWrap(true);
    m_testResult->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_testResult->setTextFormat(Qt::PlainText);
    layout->addWidget(m_testResult);

    connect(m_testModel, &QLineEdit::textChanged, this, &RoutesPage::updateTest);
    connect(m_testKey, &QComboBox::currentTextChanged, this, &RoutesPage::updateTest);
    connect(m_testTokens, &QSpinBox::valueChanged, this, &RoutesPage::updateTest);
    connect(m_testThinking, &QCheckBox::toggled, this, &RoutesPage::updateTest);
    return group;
}

QPushButton *RoutesPage::addButton(const QString &text, const QString &objectName,
                                   void (RoutesPage::*slot)())
{
    auto *button = new QPushButton(text);
    button->setObjectName(objectName);
    connect(button, &QPushButton::clicked, this, slot);
    return button;
}

void RoutesPage::setConfig(const GatewayConfig &config)
{
    m_config = config;
    rebuildModels();
    fillVirtualKeys();
    updateTest();
}

QString RoutesPage::testResultText() const
{
    return m_testResult->text();
}

QString RoutesPage::statusText() const
{
    return m_status->text();
}

bool RoutesPage::selectProvider(const QString &name)
{
    return selectRow(m_providersView, m_providersModel->rowOf(name));
}

bool RoutesPage::selectRule(int rule)
{
    return rule >= 0 && rule < m_config.routes.size() && selectRow(m_rulesView, rule);
}

void RoutesPage::setProviderHealth(const QString &provider, const QString &state,
                                   const QString &detail)
{
    m_providersModel->setHealth(provider, state, detail);
}

// ---- Providers ----------------------------------------------------------------------------

QString RoutesPage::selectedProvider() const
{
    return m_providersModel->name(selectedRow(m_providersView));
}

void RoutesPage::askToAddProvider()
{
    Provider provider;
    provider.kind = Provider::Kind::OpenAi; // what a provider besides the built-in mostly is
    openProviderDialog(true, provider);
}

void RoutesPage::askToEditSelectedProvider()
{
    const Provider *provider = findProvider(m_config.providers, selectedProvider());
    if (provider)
        openProviderDialog(false, *provider);
}

void RoutesPage::openProviderDialog(bool isNew, const Provider &provider)
{
    auto *dialog = new ProviderDialog(
        isNew ? ProviderDialog::Mode::Add : ProviderDialog::Mode::Edit, provider, providerNames(),
        [this](const QString &name, const QJsonObject &entry) { return saveProvider(name, entry); },
        this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

QString RoutesPage::saveProvider(const QString &name, QJsonObject entry)
{
    const Provider *old = findProvider(m_config.providers, name);
    // The dialog does not show prices: an edit keeps them.
    if (old && !old->prices.isEmpty())
        entry.insert(QStringLiteral("prices"), old->prices);
    const bool isNew = !old;
    QJsonObject providers = RoutingJson::providersJson(m_config.providers);
    providers.insert(name, entry);
    if (QString error = save(providers, m_config.routes); !error.isEmpty())
        return error;
    selectProvider(name);
    showStatus(isNew ? tr("Added the provider \"%1\": rules can send requests to it now.").arg(name)
                     : tr("Saved the provider \"%1\".").arg(name));
    return {};
}

void RoutesPage::askToRemoveSelectedProvider()
{
    const QString name = selectedProvider();
    if (name.isEmpty() || name == Provider::kAnthropic)
        return;
    QStringList users;
    for (int i = 0; i < m_config.routes.size(); ++i) {
        if (m_config.routes.at(i).providers.contains(name))
            users.append(ruleName(i, m_config.routes.at(i)));
    }
    if (!users.isEmpty()) {
        showStatus(tr("\"%1\" was not removed: %2 sends requests to it. Change or remove that "
                      "first.")
                       .arg(name, users.join(tr(" and "))),
                   true);
        return;
    }
    ask(tr("Remove the provider?"),
        tr("Remove \"%1\" from the settings? Its keys stay where they are.").arg(name),
        tr("Remove"), [this, name] { removeProvider(name); });
}

void RoutesPage::removeProvider(const QString &name)
{
    QJsonObject providers = RoutingJson::providersJson(m_config.providers);
    providers.remove(name);
    if (const QString error = save(providers, m_config.routes); !error.isEmpty()) {
        showStatus(tr("The settings file was not changed: %1").arg(error), true);
        return;
    }
    showStatus(tr("Removed the provider \"%1\".").arg(name));
}

// ---- Rules --------------------------------------------------------------------------------

int RoutesPage::selectedRule() const
{
    const int row = selectedRow(m_rulesView);
    return row >= 0 && row < m_config.routes.size() ? row : -1;
}

void RoutesPage::askToAddRule()
{
    Route route;
    route.model.clear();
    route.providers = {QString(Provider::kAnthropic)};
    if (!m_config.providers.isEmpty())
        route.providers = {m_config.providers.constFirst().name};
    auto *dialog = new RouteDialog(
        RouteDialog::Mode::Add, route, providerNames(), virtualKeyAliases(),
        [this](const Route &entered) {
            QList<Route> routes = m_config.routes;
            routes.append(entered);
            if (QString error = save(RoutingJson::providersJson(m_config.providers), routes);
                !error.isEmpty())
                return error;
            const int rule = int(m_config.routes.size()) - 1;
            selectRule(rule);
            showStatus(tr("Added %1.").arg(ruleName(rule, entered)));
            return QString();
        },
        this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

void RoutesPage::askToEditSelectedRule()
{
    const int rule = selectedRule();
    if (rule < 0)
        return;
    auto *dialog = new RouteDialog(
        RouteDialog::Mode::Edit, m_config.routes.at(rule), providerNames(), virtualKeyAliases(),
        [this, rule](const Route &entered) {
            QList<Route> routes = m_config.routes;
            if (rule >= routes.size())
                return tr("The rule is gone.");
            routes[rule] = entered;
            if (QString error = save(RoutingJson::providersJson(m_config.providers), routes);
                !error.isEmpty())
                return error;
            selectRule(rule);
            showStatus(tr("Saved %1.").arg(ruleName(rule, entered)));
            return QString();
        },
        this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

void RoutesPage::askToRemoveSelectedRule()
{
    const int rule = selectedRule();
    if (rule < 0)
        return;
    const Route route = m_config.routes.at(rule);
    ask(tr("Remove the rule?"),
        tr("Remove %1? Its requests go to the next rule that matches, or to anthropic.")
            .arg(ruleName(rule, route)),
        tr("Remove"), [this, rule, route] {
            QList<Route> routes = m_config.routes;
            if (rule >= routes.size() || !(routes.at(rule) == route))
                return; // changed meanwhile
            routes.removeAt(rule);
            if (const QString error = save(RoutingJson::providersJson(m_config.providers), routes);
                !error.isEmpty()) {
                showStatus(tr("The settings file was not changed: %1").arg(error), true);
                return;
            }
            showStatus(tr("Removed %1.").arg(ruleName(rule, route)));
        });
}

void RoutesPage::moveSelectedRuleUp()
{
    const int rule = selectedRule();
    if (rule > 0)
        moveRule(rule, rule - 1);
}

void RoutesPage::moveSelectedRuleDown()
{
    const int rule = selectedRule();
    if (rule >= 0 && rule + 1 < m_config.routes.size())
        moveRule(rule, rule + 1);
}

void RoutesPage::moveRule(int from, int to)
{
    QList<Route> routes = m_config.routes;
    routes.move(from, to);
    if (const QString error = save(RoutingJson::providersJson(m_config.providers), routes);
        !error.isEmpty()) {
        showStatus(tr("The settings file was not changed: %1").arg(error), true);
        return;
    }
    selectRule(to);
    showStatus(tr("Moved %1 %2.")
                   .arg(ruleName(to, m_config.routes.at(to)), to < from ? tr("up") : tr("down")));
}

// ---- Shared -------------------------------------------------------------------------------

QString RoutesPage::save(const QJsonObject &providers, const QList<Route> &routes)
{
    // Absent rather than empty, so the file says no more than it needs to.
    QJsonObject changes {
        {QStringLiteral("providers"), providers.isEmpty() ? QJsonValue() : QJsonValue(providers)},
        {QStringLiteral("routes"),
         routes.isEmpty() ? QJsonValue() : QJsonValue(RoutingJson::routesJson(routes))},
    };
    QString error;
    if (!ConfigFile::save(m_configPath, changes, &error)) {
        const QString prefix = m_configPath + QStringLiteral(": ");
        return error.startsWith(prefix) ? error.mid(prefix.size()) : error;
    }
    // Read back as the gateway will read them: the page shows what the file says.
    QJsonObject written;
    for (auto it = changes.begin(); it != changes.end(); ++it) {
        if (!it.value().isNull())
            written.insert(it.key(), it.value());
    }
    GatewayConfig parsed;
    if (!ConfigFile::apply(QJsonDocument(written).toJson(QJsonDocument::Compact), m_configPath,
                           &parsed, &error))
        return error;
    keepResolvedKeys(m_config.providers, &parsed.providers);
    m_config.providers = parsed.providers;
    m_config.routes = parsed.routes;
    rebuildModels();
    updateTest();
    emit routesChanged();
    return {};
}

void RoutesPage::rebuildModels()
{
    const QString provider = selectedProvider();
    const int rule = selectedRule();
    QStringList upstreamKeys = m_config.keychainKeys;
    for (const UpstreamKey &key : m_config.allUpstreamKeys()) {
        if (!upstreamKeys.contains(key.alias))
            upstreamKeys.append(key.alias);
    }
    m_providersModel->setProviders(m_config.upstream, upstreamKeys, m_config.providers);
    m_routesModel->setRules(m_config.routes);
    if (!provider.isEmpty())
        selectProvider(provider);
    if (rule >= 0)
        selectRule(rule);
    updateButtons();
}

void RoutesPage::updateRulesSpan()
{
    // "otherwise → anthropic" reads across the last row.
    m_rulesView->clearSpans();
    m_rulesView->setSpan(m_routesModel->defaultRow(), RoutesModel::ModelColumn, 1,
                         RoutesModel::ColumnCount - RoutesModel::ModelColumn);
}

void RoutesPage::updateButtons()
{
    if (!m_moveDown)
        return; // still building
    const int providerRow = selectedRow(m_providersView);
    const bool isBuiltIn = providerRow >= 0 && m_providersModel->isBuiltIn(providerRow);
    const bool hasProvider = providerRow >= 0 && !isBuiltIn;
    m_editProvider->setEnabled(hasProvider);
    m_removeProvider->setEnabled(hasProvider);
    const QString builtInTip = isBuiltIn
        ? tr("The built-in provider: its URL is on the Settings page and its keys on the Keys "
             "page")
        : QString();
    m_editProvider->setToolTip(builtInTip);
    m_removeProvider->setToolTip(builtInTip);

    const int rule = selectedRule();
    m_editRule->setEnabled(rule >= 0);
    m_removeRule->setEnabled(rule >= 0);
    m_moveUp->setEnabled(rule > 0);
    m_moveDown->setEnabled(rule >= 0 && rule + 1 < m_config.routes.size());
}

void RoutesPage::updateTest()
{
    if (!m_testResult)
        return; // still building
    const QString model = m_testModel->text().trimmed();
    if (model.isEmpty()) {
        m_testResult->setText(tr("Type a model to see which rule takes its requests."));
        return;
    }
    RouteTable::Query query;
    query.model = model;
    query.virtualKey = m_testKey->currentText().trimmed();
    query.thinking = m_testThinking->isChecked();
    query.promptTokens = m_testTokens->value();
    m_testResult->setText(RouteTable(m_config.routes).explain(query).join(u'\n'));
}

void RoutesPage::fillVirtualKeys()
{
    const QString current = m_testKey->currentText();
    const QSignalBlocker blocker(m_testKey);
    m_testKey->clear();
    m_testKey->addItem(QString());
    m_testKey->addItems(virtualKeyAliases());
    m_testKey->lineEdit()->setPlaceholderText(tr("none"));
    m_testKey->setCurrentText(current);
}

QStringList RoutesPage::providerNames() const
{
    QStringList names {QString(Provider::kAnthropic)};
    for (const Provider &provider : m_config.providers)
        names.append(provider.name);
    return names;
}

QStringList RoutesPage::virtualKeyAliases() const
{
    QStringList aliases;
    for (const VirtualKey &key : m_config.allVirtualKeys())
        aliases.append(key.alias);
    return aliases;
}

void RoutesPage::showStatus(const QString &text, bool isError)
{
    m_status->setText(text);
    m_status->setAccessibleDescription(isError ? tr("Error") : QString());
    m_status->setVisible(!text.isEmpty());
}

void RoutesPage::ask(const QString &title, const QString &text, const QString &confirm,
                     std::function<void()> onYes)
{
    auto *box = new QMessageBox(QMessageBox::Question, title, text, QMessageBox::Cancel, this);
    QPushButton *yes = box->addButton(confirm, QMessageBox::AcceptRole);
    box->setDefaultButton(QMessageBox::Cancel);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::buttonClicked, this,
            [yes, onYes = std::move(onYes)](QAbstractButton *clicked) {
                if (clicked == yes)
                    onYes();
            });
    box->open();
}

} // namespace tollgate
