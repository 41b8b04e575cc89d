using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Apps : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "app_manifest_states",
                columns: table => new
                {
                    StateSha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Organization = table.Column<string>(type: "TEXT", nullable: true),
                    WebBaseUrl = table.Column<string>(type: "TEXT", nullable: false),
                    ApiBaseUrl = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedBy = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    ExpiresAt = table.Column<long>(type: "INTEGER", nullable: false),
                    BrowserSha256 = table.Column<string>(type: "TEXT", nullable: true),
                    UsedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    CompletedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    Error = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_app_manifest_states", x => x.StateSha256);
                });

            migrationBuilder.CreateTable(
                name: "apps",
                columns: table => new
                {
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    AppId = table.Column<long>(type: "INTEGER", nullable: false),
                    ClientId = table.Column<string>(type: "TEXT", nullable: true),
                    Slug = table.Column<string>(type: "TEXT", nullable: true),
                    ApiBaseUrl = table.Column<string>(type: "TEXT", nullable: false),
                    WebBaseUrl = table.Column<string>(type: "TEXT", nullable: true),
                    Owner = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedBy = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    RemovedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    PrivateKeyCiphertext = table.Column<string>(type: "TEXT", nullable: false),
                    ClientSecretCiphertext = table.Column<string>(type: "TEXT", nullable: true),
                    WebhookSecretsCiphertext = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_apps", x => x.Name);
                });

            migrationBuilder.CreateIndex(
                name: "IX_app_manifest_states_ExpiresAt",
                table: "app_manifest_states",
                column: "ExpiresAt");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "app_manifest_states");

            migrationBuilder.DropTable(
                name: "apps");
        }
    }
}
