using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class DeliveryLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "LogOffset",
                table: "webhook_delivery_bodies",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "LogSequence",
                table: "webhook_delivery_bodies",
                type: "bigint",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "webhook_log",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false),
                    IndexedThrough = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_webhook_log", x => x.Id);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "webhook_log");

            migrationBuilder.DropColumn(
                name: "LogOffset",
                table: "webhook_delivery_bodies");

            migrationBuilder.DropColumn(
                name: "LogSequence",
                table: "webhook_delivery_bodies");
        }
    }
}
