using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class KeyByApp : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_webhook_deliveries_DeliveryId",
                table: "webhook_deliveries");

            migrationBuilder.DropPrimaryKey(
                name: "PK_scoped_tokens",
                table: "scoped_tokens");

            migrationBuilder.DropPrimaryKey(
                name: "PK_repositories",
                table: "repositories");

            migrationBuilder.DropIndex(
                name: "IX_repositories_FullName",
                table: "repositories");

            migrationBuilder.DropIndex(
                name: "IX_repositories_InstallationId_Status",
                table: "repositories");

            migrationBuilder.DropPrimaryKey(
                name: "PK_recovery_requests",
                table: "recovery_requests");

            migrationBuilder.DropIndex(
                name: "IX_pushes_DeliveryId",
                table: "pushes");

            migrationBuilder.DropIndex(
                name: "IX_pushes_RepositoryId_Id",
                table: "pushes");

            migrationBuilder.DropIndex(
                name: "IX_pull_requests_RepositoryId_Number",
                table: "pull_requests");

            migrationBuilder.DropIndex(
                name: "IX_pull_requests_RepositoryId_State",
                table: "pull_requests");

            migrationBuilder.DropPrimaryKey(
                name: "PK_installations",
                table: "installations");

            migrationBuilder.DropIndex(
                name: "IX_commits_RepositoryId_Id",
                table: "commits");

            migrationBuilder.DropIndex(
                name: "IX_commits_RepositoryId_Sha",
                table: "commits");

            migrationBuilder.DropPrimaryKey(
                name: "PK_app_state",
                table: "app_state");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "webhook_deliveries",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "token_vends",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "scoped_tokens",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "repositories",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "recovery_requests",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "pushes",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "pull_requests",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "installations",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "commits",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            // The column that said what a client may do as the App (none, read, admin) keeps its values under a new name;
            // "App" now names the App whose installations the client is held to.
            migrationBuilder.RenameColumn(
                name: "App",
                table: "clients",
                newName: "AppAccess");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "clients",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<string>(
                name: "App",
                table: "app_state",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddPrimaryKey(
                name: "PK_scoped_tokens",
                table: "scoped_tokens",
                columns: new[] { "App", "InstallationId", "ScopeKey" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_repositories",
                table: "repositories",
                columns: new[] { "App", "Id" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_recovery_requests",
                table: "recovery_requests",
                columns: new[] { "App", "DeliveryGuid" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_installations",
                table: "installations",
                columns: new[] { "App", "Id" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_app_state",
                table: "app_state",
                columns: new[] { "App", "Key" });

            migrationBuilder.CreateIndex(
                name: "IX_webhook_deliveries_App_DeliveryId",
                table: "webhook_deliveries",
                columns: new[] { "App", "DeliveryId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_repositories_App_FullName",
                table: "repositories",
                columns: new[] { "App", "FullName" });

            migrationBuilder.CreateIndex(
                name: "IX_repositories_App_InstallationId_Status",
                table: "repositories",
                columns: new[] { "App", "InstallationId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_pushes_App_DeliveryId",
                table: "pushes",
                columns: new[] { "App", "DeliveryId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_pushes_App_RepositoryId_Id",
                table: "pushes",
                columns: new[] { "App", "RepositoryId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_pull_requests_App_RepositoryId_Number",
                table: "pull_requests",
                columns: new[] { "App", "RepositoryId", "Number" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_pull_requests_App_RepositoryId_State",
                table: "pull_requests",
                columns: new[] { "App", "RepositoryId", "State" });

            migrationBuilder.CreateIndex(
                name: "IX_commits_App_RepositoryId_Id",
                table: "commits",
                columns: new[] { "App", "RepositoryId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_commits_App_RepositoryId_Sha",
                table: "commits",
                columns: new[] { "App", "RepositoryId", "Sha" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_webhook_deliveries_App_DeliveryId",
                table: "webhook_deliveries");

            migrationBuilder.DropPrimaryKey(
                name: "PK_scoped_tokens",
                table: "scoped_tokens");

            migrationBuilder.DropPrimaryKey(
                name: "PK_repositories",
                table: "repositories");

            migrationBuilder.DropIndex(
                name: "IX_repositories_App_FullName",
                table: "repositories");

            migrationBuilder.DropIndex(
                name: "IX_repositories_App_InstallationId_Status",
                table: "repositories");

            migrationBuilder.DropPrimaryKey(
                name: "PK_recovery_requests",
                table: "recovery_requests");

            migrationBuilder.DropIndex(
                name: "IX_pushes_App_DeliveryId",
                table: "pushes");

            migrationBuilder.DropIndex(
                name: "IX_pushes_App_RepositoryId_Id",
                table: "pushes");

            migrationBuilder.DropIndex(
                name: "IX_pull_requests_App_RepositoryId_Number",
                table: "pull_requests");

            migrationBuilder.DropIndex(
                name: "IX_pull_requests_App_RepositoryId_State",
                table: "pull_requests");

            migrationBuilder.DropPrimaryKey(
                name: "PK_installations",
                table: "installations");

            migrationBuilder.DropIndex(
                name: "IX_commits_App_RepositoryId_Id",
                table: "commits");

            migrationBuilder.DropIndex(
                name: "IX_commits_App_RepositoryId_Sha",
                table: "commits");

            migrationBuilder.DropPrimaryKey(
                name: "PK_app_state",
                table: "app_state");

            migrationBuilder.DropColumn(
                name: "App",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "App",
                table: "token_vends");

            migrationBuilder.DropColumn(
                name: "App",
                table: "scoped_tokens");

            migrationBuilder.DropColumn(
                name: "App",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "App",
                table: "recovery_requests");

            migrationBuilder.DropColumn(
                name: "App",
                table: "pushes");

            migrationBuilder.DropColumn(
                name: "App",
                table: "pull_requests");

            migrationBuilder.DropColumn(
                name: "App",
                table: "installations");

            migrationBuilder.DropColumn(
                name: "App",
                table: "commits");

            migrationBuilder.DropColumn(
                name: "App",
                table: "clients");

            migrationBuilder.RenameColumn(
                name: "AppAccess",
                table: "clients",
                newName: "App");

            migrationBuilder.DropColumn(
                name: "App",
                table: "app_state");

            migrationBuilder.AddPrimaryKey(
                name: "PK_scoped_tokens",
                table: "scoped_tokens",
                columns: new[] { "InstallationId", "ScopeKey" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_repositories",
                table: "repositories",
                column: "Id");

            migrationBuilder.AddPrimaryKey(
                name: "PK_recovery_requests",
                table: "recovery_requests",
                column: "DeliveryGuid");

            migrationBuilder.AddPrimaryKey(
                name: "PK_installations",
                table: "installations",
                column: "Id");

            migrationBuilder.AddPrimaryKey(
                name: "PK_app_state",
                table: "app_state",
                column: "Key");

            migrationBuilder.CreateIndex(
                name: "IX_webhook_deliveries_DeliveryId",
                table: "webhook_deliveries",
                column: "DeliveryId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_repositories_FullName",
                table: "repositories",
                column: "FullName");

            migrationBuilder.CreateIndex(
                name: "IX_repositories_InstallationId_Status",
                table: "repositories",
                columns: new[] { "InstallationId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_pushes_DeliveryId",
                table: "pushes",
                column: "DeliveryId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_pushes_RepositoryId_Id",
                table: "pushes",
                columns: new[] { "RepositoryId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_pull_requests_RepositoryId_Number",
                table: "pull_requests",
                columns: new[] { "RepositoryId", "Number" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_pull_requests_RepositoryId_State",
                table: "pull_requests",
                columns: new[] { "RepositoryId", "State" });

            migrationBuilder.CreateIndex(
                name: "IX_commits_RepositoryId_Id",
                table: "commits",
                columns: new[] { "RepositoryId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_commits_RepositoryId_Sha",
                table: "commits",
                columns: new[] { "RepositoryId", "Sha" },
                unique: true);
        }
    }
}
