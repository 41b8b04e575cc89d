using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class IntegrationModel : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "IgnoredReason",
                table: "webhook_deliveries",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "LastPushAt",
                table: "repositories",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastPushRef",
                table: "repositories",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastPushSha",
                table: "repositories",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "GitHubUpdatedAt",
                table: "pull_requests",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "DeletedAt",
                table: "installations",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "SuspendedAt",
                table: "installations",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "SyncedAt",
                table: "installations",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "pushes",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    RepositoryId = table.Column<long>(type: "INTEGER", nullable: false),
                    DeliveryId = table.Column<string>(type: "TEXT", nullable: false),
                    Ref = table.Column<string>(type: "TEXT", nullable: false),
                    Before = table.Column<string>(type: "TEXT", nullable: true),
                    After = table.Column<string>(type: "TEXT", nullable: true),
                    HeadCommitSha = table.Column<string>(type: "TEXT", nullable: true),
                    Created = table.Column<bool>(type: "INTEGER", nullable: false),
                    Deleted = table.Column<bool>(type: "INTEGER", nullable: false),
                    Forced = table.Column<bool>(type: "INTEGER", nullable: false),
                    PusherName = table.Column<string>(type: "TEXT", nullable: true),
                    CommitsStored = table.Column<int>(type: "INTEGER", nullable: false),
                    ReceivedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_pushes", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_pushes_DeliveryId",
                table: "pushes",
                column: "DeliveryId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_pushes_RepositoryId_Id",
                table: "pushes",
                columns: new[] { "RepositoryId", "Id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "pushes");

            migrationBuilder.DropColumn(
                name: "IgnoredReason",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "LastPushAt",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "LastPushRef",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "LastPushSha",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "GitHubUpdatedAt",
                table: "pull_requests");

            migrationBuilder.DropColumn(
                name: "DeletedAt",
                table: "installations");

            migrationBuilder.DropColumn(
                name: "SuspendedAt",
                table: "installations");

            migrationBuilder.DropColumn(
                name: "SyncedAt",
                table: "installations");
        }
    }
}
