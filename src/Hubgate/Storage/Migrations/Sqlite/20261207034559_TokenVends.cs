using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class TokenVends : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "scoped_tokens",
                columns: table => new
                {
                    InstallationId = table.Column<long>(type: "INTEGER", nullable: false),
                    ScopeKey = table.Column<string>(type: "TEXT", nullable: false),
                    TokenCiphertext = table.Column<string>(type: "TEXT", nullable: false),
                    ExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    MintedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    PermissionsJson = table.Column<string>(type: "TEXT", nullable: true),
                    RepositorySelection = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_scoped_tokens", x => new { x.InstallationId, x.ScopeKey });
                });

            migrationBuilder.CreateTable(
                name: "token_vends",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Client = table.Column<string>(type: "TEXT", nullable: false),
                    InstallationId = table.Column<long>(type: "INTEGER", nullable: false),
                    Scope = table.Column<string>(type: "TEXT", nullable: false),
                    ExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    VendedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_token_vends", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_token_vends_VendedAt",
                table: "token_vends",
                column: "VendedAt");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "scoped_tokens");

            migrationBuilder.DropTable(
                name: "token_vends");
        }
    }
}
