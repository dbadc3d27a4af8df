# Issue 21: API keys get scopes (existing keys keep read and generate; none may mint keys) and an optional expiry; sign-in lockouts.

import aigc_platform.accounts.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_preference'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='apikey',
            name='expires_at',
            field=models.DateTimeField(blank=True, help_text='Empty: it never expires.', null=True),
        ),
        migrations.AddField(
            model_name='apikey',
            name='scopes',
            field=models.JSONField(default=aigc_platform.accounts.models.default_api_key_scopes, help_text='What the key may do: read, generate, admin.'),
        ),
        migrations.CreateModel(
            name='SignInLockout',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(choices=[('account', 'Account'), ('client', 'Client')], max_length=16)),
                ('key', models.CharField(help_text="The username, or the client's address.", max_length=150)),
                ('failures', models.PositiveIntegerField(help_text='Failed sign-ins that led to it.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('locked_until', models.DateTimeField()),
                ('cleared_at', models.DateTimeField(blank=True, null=True)),
                ('cleared_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['scope', 'key', 'locked_until'], name='accounts_si_scope_03c695_idx')],
            },
        ),
    ]
