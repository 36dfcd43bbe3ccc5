from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0006_inbound_drain'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxratebucket',
            name='holder',
            field=models.CharField(blank=True, default='', max_length=80),
        ),
    ]
