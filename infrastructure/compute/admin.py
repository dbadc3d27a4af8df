from django.contrib import admin

from infrastructure.compute.models import Job, JobLog, Worker


class JobLogInline(admin.TabularInline):
    model = JobLog
    extra = 0
    readonly_fields = ["created_at", "attempt", "line"]
    can_delete = False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "owner", "queue", "worker", "attempt", "created_at"]
    list_filter = ["status", "kind", "queue"]
    search_fields = ["id", "kind", "owner__username", "worker"]
    readonly_fields = [field.name for field in Job._meta.fields]
    inlines = [JobLogInline]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "hostname", "cpu_count", "ram_mb", "concurrency", "last_heartbeat_at"]
    list_filter = ["status"]
    search_fields = ["name", "hostname"]
    readonly_fields = [field.name for field in Worker._meta.fields]
