#pragma once

#include "ProvidersModel.h"
#include "RoutesModel.h"
#include "config/GatewayConfig.h"

#include <QJsonObject>
#include <QWidget>
#include <functional>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableView;

namespace tollgate {

// The Routes page: the providers requests can go to (the built-in "anthropic" first, with
// the health the gateway reports) with Add, Edit and Remove; the ordered rules that pick
// one by the request's model (first match wins, "otherwise → anthropic" last) with Add,
// Edit, Remove, Move up and Move down; and a "Test a model" field that explains, as the user
// types, which rule takes a request and where it goes.
//
// Every change goes to the settings file's "providers" and "routes" at once, checked by
// ConfigFile::save(): what it refuses is shown and nothing is written. The page never sees
// a secret: providers name their keys by alias or environment variable.
//
// Owns its models and dialogs; knows nothing of the gateway: health comes in through
// setProviderHealth(), and routesChanged() tells the app to take the new config().
class RoutesPage : public QWidget
{
    Q_OBJECT

public:
    // configPath: the settings file that holds the providers and the rules.
    explicit RoutesPage(const QString &configPath, QWidget *parent = nullptr);
    ~RoutesPage() override;

    // The config the gateway runs (or will run) with; the page shows and changes its
    // providers and routes (and reads its upstream, upstream keys and virtual keys).
    void setConfig(const GatewayConfig &config);
    // With the providers and routes as the page changed them.
    const GatewayConfig &config() const { return m_config; }

    ProvidersModel *providersModel() const { return m_providersModel; }
    RoutesModel *routesModel() const { return m_routesModel; }
    QTableView *providersView() const { return m_providersView; }
    QTableView *rulesView() const { return m_rulesView; }
    QLineEdit *testModelEdit() const { return m_testModel; }
    QComboBox *testVirtualKeyBox() const { return m_testKey; }
    QCheckBox *testThinkingBox() const { return m_testThinking; }
    QSpinBox *testPromptTokensBox() const { return m_testTokens; }
    // RouteTable::explain()'s lines for the test field, one a line.
    QString testResultText() const;
    QString statusText() const;

    bool selectProvider(const QString &name);
    bool selectRule(int rule);

public slots:
    // What the gateway last saw of a provider: state "ok", "limited", "failing" or
    // "no keys", detail for the tooltip. Until it is called the provider shows "—".
    void setProviderHealth(const QString &provider, const QString &state, const QString &detail);

signals:
    // config() changed: a provider or a rule was added, edited, removed or moved, and the
    // settings file says so already.
    void routesChanged();

private:
    QWidget *providersGroup();
    QWidget *rulesGroup();
    QWidget *testGroup();
    QPushButton *addButton(const QString &text, const QString &objectName,
                           void (RoutesPage::*slot)());

    // Providers.
    void askToAddProvider();
    void askToEditSelectedProvider();
    void askToRemoveSelectedProvider();
    void openProviderDialog(bool isNew, const Provider &provider);
    QString saveProvider(const QString &name, QJsonObject entry);
    void removeProvider(const QString &name);
    QString selectedProvider() const;

    // Rules.
    void askToAddRule();
    void askToEditSelectedRule();
    void askToRemoveSelectedRule();
    void moveSelectedRuleUp();
    void moveSelectedRuleDown();
    void moveRule(int from, int to);
    int selectedRule() const;

    // Writes both "providers" and "routes" (a rule may only name a provider the file has),
    // then takes them back as the settings file reads them. Returns why nothing was
    // written, or an empty string.
    QString save(const QJsonObject &providers, const QList<Route> &routes);
    void rebuildModels();
    void updateRulesSpan();
    void updateButtons();
    void updateTest();
    void fillVirtualKeys();
    QStringList providerNames() const;
    QStringList virtualKeyAliases() const;
    void showStatus(const QString &text, bool isError = false);
    void ask(const QString &title, const QString &text, const QString &confirm,
             std::function<void()> onYes);

    QString m_configPath;
    GatewayConfig m_config;
    ProvidersModel *m_providersModel = nullptr;
    RoutesModel *m_routesModel = nullptr;

    QLabel *m_status = nullptr;
    QTableView *m_providersView = nullptr;
    QPushButton *m_addProvider = nullptr;
    QPushButton *m_editProvider = nullptr;
    QPushButton *m_removeProvider = nullptr;
    QTableView *m_rulesView = nullptr;
    QPushButton *m_addRule = nullptr;
    QPushButton *m_editRule = nullptr;
    QPushButton *m_removeRule = nullptr;
    QPushButton *m_moveUp = nullptr;
    QPushButton *m_moveDown = nullptr;
    QLineEdit *m_testModel = nullptr;
    QComboBox *m_testKey = nullptr;
    QCheckBox *m_testThinking = nullptr;
    QSpinBox *m_testTokens = nullptr;
    QLabel *m_testResult = nullptr;
};

} // namespace tollgate
