#include "RouteDialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QVBoxLayout>

namespace tollgate {

namespace {
constexpr qint64 kMaxPromptTokens = 1'000'000'000; // as the settings file allows

// The thinking condition's choices, in the combo's order.
enum ThinkingChoice { AnyThinking, ThinkingOn, ThinkingOff };
} // namespace

RouteDialog::RouteDialog(Mode mode, const Route &route, const QStringList &providers,
                         const QStringList &virtualKeys, Save save, QWidget *parent)
    : QDialog(parent)
    , m_save(std::move(save))
{
    setWindowTitle(mode == Mode::Add ? tr("Add a rule") : tr("Edit the rule"));
    setMinimumWidth(480);
    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(tr("Rules are tried in order and the first whose conditions all "
                                "hold takes the request; a request no rule takes goes to "
                                "anthropic."));
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto *form = new QFormLayout;
    m_model = new QLineEdit(route.model);
    m_model->setObjectName(QStringLiteral("model"));
    m_model->setAccessibleName(tr("Model pattern"));
    m_model->setPlaceholderText(tr("e.g. gpt-* or claude-opus-*"));
    m_model->setToolTip(tr("* is any text, ? one character"));
    form->addRow(tr("&Model:"), m_model);

    m_provider = new QComboBox;
    m_provider->setObjectName(QStringLiteral("provider"));
    m_provider->setAccessibleName(tr("Provider"));
    m_provider->addItems(providers);
    if (!route.providers.isEmpty()) {
        if (m_provider->findText(route.providers.constFirst()) < 0)
            m_provider->addItem(route.providers.constFirst());
        m_provider->setCurrentText(route.providers.constFirst());
    }
    form->addRow(tr("Send t&o:"), m_provider);

    m_fallback = new QLineEdit(route.providers.mid(1).join(QStringLiteral(", ")));
    m_fallback->setObjectName(QStringLiteral("fallback"));
    m_fallback->setAccessibleName(tr("Fallback providers"));
    m_fallback->setPlaceholderText(tr("optional, in order, e.g. anthropic"));
    m_fallback->setToolTip(tr("Tried in turn when a provider answers 429 or 5xx before its "
                              "first byte. Providers: %1")
                               .arg(providers.join(QStringLiteral(", "))));
    form->addRow(tr("&Then:"), m_fallback);

    m_virtualKey = new QComboBox;
    m_virtualKey->setObjectName(QStringLiteral("virtualKey"));
    m_virtualKey->setAccessibleName(tr("Only for the virtual key"));
    m_virtualKey->setEditable(true);
    m_virtualKey->addItem(QString());
    m_virtualKey->addItems(virtualKeys);
    m_virtualKey->lineEdit()->setPlaceholderText(tr("any client"));
    m_virtualKey->setCurrentText(route.virtualKey);
    form->addRow(tr("Only for &virtual key:"), m_virtualKey);

    m_thinking = new QComboBox;
    m_thinking->setObjectName(QStringLiteral("thinking"));
    m_thinking->setAccessibleName(tr("Extended thinking"));
    m_thinking->addItem(tr("on or off"));
    m_thinking->addItem(tr("only with thinking on"));
    m_thinking->addItem(tr("only with thinking off"));
    m_thinking->setCurrentIndex(!route.thinking       ? AnyThinking
                                    : *route.thinking ? ThinkingOn
                                                      : ThinkingOff);
    form->addRow(tr("Extended t&hinking:"), m_thinking);

    m_minTokens = new QSpinBox;
    m_minTokens->setObjectName(QStringLiteral("minPromptTokens"));
    m_minTokens->setAccessibleName(tr("Minimum prompt tokens"));
    m_minTokens->setRange(0, int(kMaxPromptTokens));
    m_minTokens->setGroupSeparatorShown(true);
    m_minTokens->setSpecialValueText(tr("any size"));
    m_minTokens->setValue(int(qBound<qint64>(0, route.minPromptTokens, kMaxPromptTokens)));
    m_minTokens->setToolTip(tr("Only prompts estimated at this many tokens or more, for a "
                               "long-context rule"));
    form->addRow(tr("Prompts of at &least:"), m_minTokens);

    m_rewrite = new QLineEdit(route.rewriteModel);
    m_rewrite->setObjectName(QStringLiteral("rewriteModel"));
    m_rewrite->setAccessibleName(tr("Model sent"));
    m_rewrite->setPlaceholderText(tr("the request's own; or e.g. openai/gpt-5"));
    form->addRow(tr("&Send the model as:"), m_rewrite);
    layout->addLayout(form);

    m_error = new QLabel;
    m_error->setObjectName(QStringLiteral("error"));
    m_error->setAccessibleName(tr("Problem"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->hide();
    layout->addWidget(m_error);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    m_ok = buttons->addButton(mode == Mode::Add ? tr("Add rule") : tr("Save"),
                              QDialogButtonBox::AcceptRole);
    m_ok->setObjectName(QStringLiteral("ok"));
    m_ok->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &RouteDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &RouteDialog::reject);
    layout->addWidget(buttons);

    connect(m_model, &QLineEdit::textChanged, this, &RouteDialog::check);
    check();
}

Route RouteDialog::route() const
{
    static const QRegularExpression separators(QStringLiteral("[,\\s]+"));
    Route route;
    route.model = m_model->text().trimmed();
    route.providers = QStringList {m_provider->currentText()}
        + m_fallback->text().split(separators, Qt::SkipEmptyParts);
    route.virtualKey = m_virtualKey->currentText().trimmed();
    switch (m_thinking->currentIndex()) {
    case ThinkingOn:
        route.thinking = true;
        break;
    case ThinkingOff:
        route.thinking = false;
        break;
    default:
        break;
    }
    route.minPromptTokens = m_minTokens->value();
    route.rewriteModel = m_rewrite->text().trimmed();
    return route;
}

QString RouteDialog::errorText() const
{
    return m_error->text();
}

QString RouteDialog::problem() const
{
    if (m_model->text().trimmed().isEmpty())
        return tr("Enter a model pattern: * takes every model.");
    return {};
}

void RouteDialog::check()
{
    // The only problem is an empty pattern, which the disabled button says well enough;
    // typing clears what saving last said.
    showError(QString());
    m_ok->setEnabled(problem().isEmpty());
}

void RouteDialog::showError(const QString &error)
{
    m_error->setText(error);
    m_error->setVisible(!error.isEmpty());
}

void RouteDialog::accept()
{
    if (const QString problem = this->problem(); !problem.isEmpty()) {
        showError(problem);
        return;
    }
    if (const QString error = m_save(route()); !error.isEmpty()) {
        showError(error);
        return;
    }
    QDialog::accept();
}

} // namespace tollgate
